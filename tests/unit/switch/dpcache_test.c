/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The flow caches against the slow path. Refused calls first; then random
 * rule tables (sw_cls) and random packets sent through EMC -> megaflow
 * cache -> slow path (which installs a megaflow with the lookup's
 * wildcards): every decision must equal a direct classifier lookup, and
 * coarse rules must give far fewer megaflows than microflows. Then rule
 * changes followed by revalidation (no stale decision survives), expiry,
 * statistics, and a reader thread forwarding while a writer installs,
 * removes and expires megaflows (ASan catches a flow freed too early).
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "classifier.h"
#include "dpcache.h"
#include "kk_common.h"
#include "kk_rcu.h"
#include "kk_test.h"

static const char *const shapes[] = {
    "in_port=0",
    "ip,nw_dst=0.0.0.0/24",
    "tcp,tp_dst=0",
    "in_port=0,ip,nw_src=0.0.0.0/16",
    "udp,tp_src=0/0xff00",
    "arp",
};
#define N_SHAPES KK_ARRAY_SIZE(shapes)
static struct sw_flow_mask shape_masks[N_SHAPES];

static void load_shapes(void)
{
    for (size_t i = 0; i < N_SHAPES; i++) {
        struct sw_flow_key k;
        char err[128];
        if (sw_flow_parse(shapes[i], &k, &shape_masks[i], err, sizeof(err)) != 0)
            fail_msg("shape '%s': %s", shapes[i], err);
    }
}

static void random_packet(uint64_t *rng, struct sw_flow_key *k)
{
    memset(k, 0, sizeof(*k));
    uint64_t r = kk_test_rand(rng);
    k->in_port = 1 + (uint32_t)(r % 4);
    k->dl_src[5] = (uint8_t)(r >> 8);
    static const uint16_t types[] = {PKT_ETH_TYPE_IPV4, PKT_ETH_TYPE_IPV4, PKT_ETH_TYPE_ARP};
    k->dl_type = types[(r >> 16) % 3];
    r = kk_test_rand(rng);
    k->nw_src = 0x0a000000u | (uint32_t)(r % 4) << 16 | (uint32_t)((r >> 4) & 0xff);
    k->nw_dst = 0x0a000000u | (uint32_t)((r >> 12) % 4) << 8 | (uint32_t)((r >> 16) & 0xff);
    static const uint8_t protos[] = {PKT_IPPROTO_TCP, PKT_IPPROTO_UDP, PKT_IPPROTO_ICMP};
    k->nw_proto = protos[(r >> 24) % 3];
    r = kk_test_rand(rng);
    static const uint16_t ports[] = {80, 443, 53, 22};
    k->tp_src = (uint16_t)(1024 + r % 4096);
    k->tp_dst = ports[(r >> 16) % 4];
}

static void random_rule(uint64_t *rng, struct sw_flow_key *k, struct sw_flow_mask *m)
{
    *m = shape_masks[kk_test_rand(rng) % N_SHAPES];
    random_packet(rng, k);
    sw_flow_key_mask(k, k, m);
}

/* A table plus the caches in front of it. */
struct dp {
    struct sw_cls *table;
    struct sw_mfc *mfc;
    uint64_t version;
};

static int32_t direct(const struct dp *dp, const struct sw_flow_key *k)
{
    const struct sw_cls_rule *r = sw_cls_lookup(dp->table, sw_cls_version(dp->table), k, NULL);
    return r ? (int32_t)(intptr_t)sw_cls_rule_user(r) : -1;
}

static int32_t decision_of(struct sw_mfc_flow *f)
{
    size_t len;
    const void *a = sw_mfc_flow_actions(f, &len);
    assert_int_equal(len, sizeof(int32_t));
    int32_t d;
    memcpy(&d, a, sizeof(d));
    return d;
}

enum { HIT_EMC, HIT_MFC, MISS };

/* Forward one packet; returns the decision, *where says which level answered. */
static int32_t forward(struct dp *dp, struct sw_emc *emc, const struct sw_flow_key *k,
                       uint64_t now, int *where)
{
    uint64_t h = sw_emc_hash(k);
    struct sw_mfc_flow *f = sw_emc_lookup(emc, k, h);
    *where = HIT_EMC;
    if (!f) {
        f = sw_mfc_lookup(dp->mfc, k);
        *where = HIT_MFC;
        if (!f) {
            *where = MISS;
            struct sw_flow_mask wc;
            memset(&wc, 0, sizeof(wc));
            const struct sw_cls_rule *r =
                sw_cls_lookup(dp->table, sw_cls_version(dp->table), k, &wc);
            int32_t d = r ? (int32_t)(intptr_t)sw_cls_rule_user(r) : -1;
            int rc = sw_mfc_insert(dp->mfc, k, &wc, &d, sizeof(d), NULL, now, &f);
            assert_true(rc == 0 || rc == -EEXIST);
        }
        sw_emc_insert(emc, k, h, f);
    }
    sw_mfc_flow_account(f, now, 1, 64, k->tcp_flags);
    return decision_of(f);
}

static void dp_init(struct dp *dp, uint64_t *rng, unsigned n_rules)
{
    assert_int_equal(sw_cls_create(&dp->table), 0);
    assert_int_equal(sw_mfc_create(&dp->mfc), 0);
    dp->version = 1;
    for (unsigned i = 0; i < n_rules; i++) {
        struct sw_flow_key k;
        struct sw_flow_mask m;
        random_rule(rng, &k, &m);
        assert_int_equal(sw_cls_insert(dp->table, &k, &m, (int32_t)(kk_test_rand(rng) % 50), 1,
                                       (void *)(intptr_t)(i + 1), NULL),
                         0);
    }
}

static void dp_fini(struct dp *dp)
{
    sw_mfc_destroy(dp->mfc);
    sw_cls_destroy(dp->table);
}

static int register_reader(void **state)
{
    (void)state;
    return kk_rcu_register_thread();
}

static int unregister_reader(void **state)
{
    (void)state;
    kk_rcu_unregister_thread();
    return 0;
}

/* ---- refused calls ---- */

static void test_refused_calls(void **state)
{
    (void)state;
    struct sw_mfc *mfc;
    struct sw_emc *emc;
    assert_int_equal(sw_mfc_create(NULL), -EINVAL);
    assert_int_equal(sw_emc_create(0, NULL), -EINVAL);
    assert_int_equal(sw_mfc_create(&mfc), 0);
    struct sw_flow_key k;
    struct sw_flow_mask m;
    memset(&k, 0, sizeof(k));
    memset(&m, 0, sizeof(m));
    assert_int_equal(sw_mfc_insert(NULL, &k, &m, NULL, 0, NULL, 0, NULL), -EINVAL);
    assert_int_equal(sw_mfc_insert(mfc, NULL, &m, NULL, 0, NULL, 0, NULL), -EINVAL);
    assert_int_equal(sw_mfc_insert(mfc, &k, NULL, NULL, 0, NULL, 0, NULL), -EINVAL);
    assert_int_equal(sw_mfc_insert(mfc, &k, &m, NULL, 4, NULL, 0, NULL), -EINVAL);
    assert_int_equal(sw_mfc_remove(mfc, NULL), -EINVAL);
    assert_int_equal(sw_mfc_remove(NULL, NULL), -EINVAL);
    struct sw_mfc_flow *f, *g;
    int32_t d = 7;
    assert_int_equal(sw_mfc_insert(mfc, &k, &m, &d, sizeof(d), &d, 5, &f), 0);
    assert_int_equal(sw_mfc_insert(mfc, &k, &m, &d, sizeof(d), NULL, 5, &g), -EEXIST);
    assert_ptr_equal(f, g);
    assert_int_equal(sw_mfc_count(mfc), 1);
    assert_ptr_equal(sw_mfc_flow_user(f), &d);
    assert_int_equal(decision_of(f), 7);
    k.in_port = 3;
    assert_ptr_equal(sw_mfc_lookup(mfc, &k), f); /* catch-all */
    assert_int_equal(sw_emc_create(0, &emc), 0);
    sw_emc_insert(emc, &k, sw_emc_hash(&k), f);
    assert_ptr_equal(sw_emc_lookup(emc, &k, sw_emc_hash(&k)), f);
    assert_int_equal(sw_mfc_remove(mfc, f), 0);
    assert_true(sw_mfc_flow_dead(f)); /* the EMC's reference keeps it */
    assert_null(sw_emc_lookup(emc, &k, sw_emc_hash(&k)));
    assert_int_equal(sw_emc_count(emc), 0);
    assert_null(sw_mfc_lookup(mfc, &k));
    assert_int_equal(sw_mfc_count(mfc), 0);
    sw_emc_destroy(emc);
    sw_emc_destroy(NULL);
    sw_mfc_destroy(mfc);
    sw_mfc_destroy(NULL);
}

/* A counted reference keeps a removed flow readable (dead) past the cache's
 * own release, and through the destruction of the cache; the last unref
 * frees it (ASan checks both). */
static void test_flow_ref_outlives_removal(void **state)
{
    (void)state;
    struct sw_mfc *mfc;
    assert_int_equal(sw_mfc_create(&mfc), 0);
    struct sw_flow_key k;
    struct sw_flow_mask m;
    memset(&k, 0, sizeof(k));
    memset(&m, 0, sizeof(m));
    m.masks.in_port = UINT32_MAX;
    struct sw_mfc_flow *f;
    int32_t d = 9;
    k.in_port = 1;
    assert_int_equal(sw_mfc_insert(mfc, &k, &m, &d, sizeof(d), NULL, 0, &f), 0);
    sw_mfc_flow_ref(f);
    sw_mfc_flow_ref(f);
    assert_int_equal(sw_mfc_remove(mfc, f), 0);
    kk_rcu_quiescent();
    kk_rcu_barrier(); /* the cache's reference goes */
    kk_rcu_barrier();
    assert_true(sw_mfc_flow_dead(f));
    assert_int_equal(decision_of(f), 9);
    sw_mfc_flow_unref(f);
    assert_int_equal(decision_of(f), 9);
    sw_mfc_destroy(mfc);
    assert_true(sw_mfc_flow_dead(f));
    sw_mfc_flow_unref(f);
}

/* ---- iteration ---- */

struct seen_flows {
    struct sw_mfc_flow *flows[8];
    uint64_t packets[8];
    unsigned n;
};

static void on_flow(void *arg, struct sw_mfc_flow *flow)
{
    struct seen_flows *s = arg;
    assert_true(s->n < 8);
    struct sw_mfc_flow_stats st;
    sw_mfc_flow_get_stats(flow, &st);
    size_t len;
    const int32_t *a = sw_mfc_flow_actions(flow, &len);
    assert_int_equal(len, sizeof(int32_t));
    assert_int_equal((uint64_t)*a * 10, st.packets); /* each flow's own statistics */
    s->flows[s->n] = flow;
    s->packets[s->n++] = st.packets;
}

static void test_foreach_overlapping(void **state)
{
    assert_int_equal(sw_mfc_foreach(NULL, on_flow, NULL), 0);
    struct sw_mfc *mfc;
    assert_int_equal(sw_mfc_create(&mfc), 0);
    assert_int_equal(sw_mfc_foreach(mfc, NULL, NULL), 0);
    /* Three megaflows covering one key: catch-all, in_port, in_port +
     * dl_type. A lookup by masked key cannot tell them apart; iteration must. */
    struct sw_flow_key k;
    memset(&k, 0, sizeof(k));
    k.in_port = 2;
    k.dl_type = 0x0800;
    struct sw_flow_mask m[3];
    memset(m, 0, sizeof(m));
    m[1].masks.in_port = UINT32_MAX;
    m[2].masks.in_port = UINT32_MAX;
    m[2].masks.dl_type = UINT16_MAX;
    struct sw_mfc_flow *f[3];
    for (int32_t i = 0; i < 3; i++) {
        int32_t d = i + 1;
        assert_int_equal(sw_mfc_insert(mfc, &k, &m[i], &d, sizeof(d), NULL, 0, &f[i]), 0);
        sw_mfc_flow_account(f[i], 1, (uint32_t)(d * 10), 640, 0);
    }
    struct seen_flows s = {0};
    assert_int_equal(sw_mfc_foreach(mfc, on_flow, &s), 3);
    assert_int_equal(s.n, 3);
    for (int i = 0; i < 3; i++) {
        int hits = 0;
        for (unsigned j = 0; j < s.n; j++)
            hits += s.flows[j] == f[i];
        assert_int_equal(hits, 1);
    }
    sw_mfc_remove(mfc, f[1]);
    memset(&s, 0, sizeof(s));
    assert_int_equal(sw_mfc_foreach(mfc, on_flow, &s), 2);
    sw_mfc_destroy(mfc);
}

/* ---- sharded statistics, inline and out-of-line actions ---- */

struct shard_writer {
    struct sw_mfc_flow *flow;
    unsigned shard;
    unsigned rounds;
};

static void *shard_writer_main(void *arg)
{
    struct shard_writer *w = arg;
    for (unsigned i = 0; i < w->rounds; i++)
        sw_mfc_flow_account_shard(w->flow, w->shard, 100 + w->shard, 2, 128,
                                  (uint16_t)(1u << w->shard));
    return NULL;
}

static enum sw_mfc_reval replace_with_big(void *arg, const struct sw_flow_key *key,
                                          const struct sw_flow_mask *mask, const void *actions,
                                          size_t actions_len, void *user,
                                          const void **new_actions, size_t *new_len)
{
    *new_actions = arg;
    *new_len = 200;
    return SW_MFC_REPLACE;
}

static void test_sharded_stats(void **state)
{
    struct sw_mfc *mfc;
    assert_int_equal(sw_mfc_create_sharded(SW_MFC_MAX_SHARDS + 1, &mfc), -EINVAL);
    assert_int_equal(sw_mfc_create_sharded(4, &mfc), 0);
    struct sw_flow_key k;
    memset(&k, 0, sizeof(k));
    k.in_port = 7;
    struct sw_flow_mask m;
    memset(&m, 0, sizeof(m));
    m.masks.in_port = UINT32_MAX;
    uint8_t small[16], big[200];
    for (unsigned i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7 + 1);
    memset(small, 0xab, sizeof(small));
    struct sw_mfc_flow *f;
    assert_int_equal(sw_mfc_insert(mfc, &k, &m, small, sizeof(small), NULL, 50, &f), 0);

    /* Four writers, each on its own shard, at once; one more through the
     * shared counters and one with a shard the cache does not have. */
    enum { ROUNDS = 200000 };
    pthread_t th[4];
    struct shard_writer w[4];
    for (unsigned i = 0; i < 4; i++) {
        w[i] = (struct shard_writer){.flow = f, .shard = i, .rounds = ROUNDS};
        assert_int_equal(pthread_create(&th[i], NULL, shard_writer_main, &w[i]), 0);
    }
    for (unsigned i = 0; i < 1000; i++)
        sw_mfc_flow_account(f, 90, 1, 64, 0);
    sw_mfc_flow_account_shard(f, 9, 95, 1, 64, 0x100);
    for (unsigned i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    struct sw_mfc_flow_stats st;
    sw_mfc_flow_get_stats(f, &st);
    assert_int_equal(st.packets, 4ull * ROUNDS * 2 + 1001);
    assert_int_equal(st.bytes, 4ull * ROUNDS * 128 + 1001 * 64);
    assert_int_equal(st.used_ms, 103); /* the latest of all shards */
    assert_int_equal(st.tcp_flags, 0x10f);

    /* Actions: inline first, then replaced by a block too big to inline. */
    size_t len;
    const uint8_t *a = sw_mfc_flow_actions(f, &len);
    assert_int_equal(len, sizeof(small));
    assert_memory_equal(a, small, sizeof(small));
    assert_int_equal(sw_mfc_revalidate(mfc, replace_with_big, big), 0);
    a = sw_mfc_flow_actions(f, &len);
    assert_int_equal(len, sizeof(big));
    assert_memory_equal(a, big, sizeof(big));
    /* A flow whose first actions do not fit inline. */
    k.in_port = 8;
    struct sw_mfc_flow *g;
    assert_int_equal(sw_mfc_insert(mfc, &k, &m, big, sizeof(big), NULL, 50, &g), 0);
    a = sw_mfc_flow_actions(g, &len);
    assert_int_equal(len, sizeof(big));
    assert_memory_equal(a, big, sizeof(big));
    /* Expiry sees the shards' last use: f was used at 103, g never. */
    assert_int_equal(sw_mfc_expire(mfc, 1100, 1000), 1);
    assert_int_equal(sw_mfc_count(mfc), 1);
    assert_ptr_equal(sw_mfc_lookup(mfc, &k), NULL);
    sw_mfc_destroy(mfc);
}

/* ---- EMC burst lookups ---- */

static void test_emc_burst_matches_single(void **state)
{
    struct sw_mfc *mfc;
    struct sw_emc *emc;
    assert_int_equal(sw_mfc_create(&mfc), 0);
    assert_int_equal(sw_emc_create(1, &emc), 0);
    /* Keys 0..9 (in_port), megaflows matching in_port exactly; keys 0..6
     * cached, 7..9 not; key 3's flow then removed (dead). */
    struct sw_flow_key k[10];
    struct sw_mfc_flow *f[10];
    struct sw_flow_mask m;
    memset(&m, 0, sizeof(m));
    m.masks.in_port = UINT32_MAX;
    for (uint32_t i = 0; i < 10; i++) {
        memset(&k[i], 0, sizeof(k[i]));
        k[i].in_port = i;
        k[i].nw_src = 0x0a000000u + i;
        assert_int_equal(sw_mfc_insert(mfc, &k[i], &m, NULL, 0, NULL, 0, &f[i]), 0);
        if (i < 7)
            sw_emc_insert(emc, &k[i], sw_emc_hash(&k[i]), f[i]);
    }
    assert_int_equal(sw_mfc_remove(mfc, f[3]), 0);
    /* 70 keys (more than one internal burst), with runs and repeats. */
    uint64_t rng = 99;
    struct sw_flow_key keys[70];
    uint64_t hashes[70];
    struct sw_mfc_flow *flows[70];
    for (unsigned i = 0; i < 70; i++) {
        unsigned pick = i > 0 && kk_test_rand(&rng) % 3 == 0 ? keys[i - 1].in_port
                                                            : (unsigned)(kk_test_rand(&rng) % 10);
        keys[i] = k[pick];
    }
    /* The first lookup of key 3 drops its dead entry: do singles second. */
    unsigned hits = sw_emc_lookup_burst(emc, keys, 70, hashes, flows);
    unsigned expect_hits = 0;
    for (unsigned i = 0; i < 70; i++) {
        unsigned id = keys[i].in_port;
        assert_int_equal(hashes[i], sw_emc_hash(&keys[i]));
        struct sw_mfc_flow *want = id < 7 && id != 3 ? f[id] : NULL;
        assert_ptr_equal(flows[i], want);
        assert_ptr_equal(sw_emc_lookup(emc, &keys[i], hashes[i]), want);
        expect_hits += want != NULL;
    }
    assert_int_equal(hits, expect_hits);
    assert_int_equal(sw_emc_lookup_burst(emc, keys, 0, hashes, flows), 0);
    sw_emc_destroy(emc);
    sw_mfc_destroy(mfc);
}

/* ---- EMC fill and replacement policy ---- */

static void test_emc_fill_then_resist_thrash(void **state)
{
    struct sw_emc *emc;
    assert_int_equal(sw_emc_create_sized(1000, 1, &emc), -EINVAL);
    assert_int_equal(sw_emc_create_sized(512, 1, &emc), -EINVAL);
    assert_int_equal(sw_emc_create_sized(SW_EMC_MAX_ENTRIES * 2, 1, &emc), -EINVAL);
    assert_int_equal(sw_emc_create_sized(1024, 1000000, &emc), 0);
    assert_int_equal(sw_emc_size(emc), 1024);
    struct sw_mfc *mfc;
    assert_int_equal(sw_mfc_create(&mfc), 0);
    struct sw_flow_mask m;
    memset(&m, 0, sizeof(m)); /* one catch-all megaflow for every key */
    struct sw_flow_key k;
    memset(&k, 0, sizeof(k));
    struct sw_mfc_flow *f;
    assert_int_equal(sw_mfc_insert(mfc, &k, &m, NULL, 0, NULL, 0, &f), 0);
    /* 600 keys into 1024 slots: free slots are always taken, whatever the
     * replacement probability (only keys whose two slots are both taken
     * already can miss out). */
    for (uint32_t i = 0; i < 600; i++) {
        k.nw_src = i;
        sw_emc_insert(emc, &k, sw_emc_hash(&k), f);
    }
    unsigned filled = sw_emc_count(emc);
    print_message("# 600 keys: %u cached in 1024 slots\n", filled);
    assert_true(filled >= 500 && filled <= 600);
    /* 20,000 more keys: live entries are replaced one time in a million,
     * so what is cached stays (no thrashing). */
    for (uint32_t i = 600; i < 20600; i++) {
        k.nw_src = i;
        sw_emc_insert(emc, &k, sw_emc_hash(&k), f);
    }
    unsigned kept = 0;
    for (uint32_t i = 0; i < 600; i++) {
        k.nw_src = i;
        kept += sw_emc_lookup(emc, &k, sw_emc_hash(&k)) != NULL;
    }
    print_message("# after 20000 more keys: %u of the first 600 still cached, %u slots used\n",
                  kept, sw_emc_count(emc));
    assert_true(kept + 20 >= filled);
    assert_true(sw_emc_count(emc) <= 1024);
    sw_emc_destroy(emc);
    /* Disabled: nothing is ever cached. */
    assert_int_equal(sw_emc_create(UINT32_MAX, &emc), 0);
    sw_emc_insert(emc, &k, sw_emc_hash(&k), f);
    assert_int_equal(sw_emc_count(emc), 0);
    sw_emc_destroy(emc);
    sw_mfc_destroy(mfc);
}

/* ---- random tables against direct lookups ---- */

static enum sw_mfc_reval reval_cb(void *arg, const struct sw_flow_key *key,
                                  const struct sw_flow_mask *mask, const void *actions,
                                  size_t len, void *user, const void **new_actions,
                                  size_t *new_len)
{
    (void)user;
    static int32_t out;
    struct dp *dp = arg;
    struct sw_flow_mask wc;
    memset(&wc, 0, sizeof(wc));
    const struct sw_cls_rule *r = sw_cls_lookup(dp->table, sw_cls_version(dp->table), key, &wc);
    /* The new decision for the megaflow's masked key holds for all its
     * packets only if it consulted no bit outside the megaflow's mask. */
    if (!sw_flow_mask_is_subset(&wc, mask))
        return SW_MFC_DELETE;
    out = r ? (int32_t)(intptr_t)sw_cls_rule_user(r) : -1;
    assert_int_equal(len, sizeof(out));
    if (memcmp(actions, &out, sizeof(out)) == 0)
        return SW_MFC_KEEP;
    *new_actions = &out;
    *new_len = sizeof(out);
    return SW_MFC_REPLACE;
}

/* Microflows: packets repeat, as in real traffic. */
#define POOL 4000
static struct sw_flow_key pool[POOL];

static void load_pool(void)
{
    uint64_t rng = 31337;
    for (unsigned i = 0; i < POOL; i++)
        random_packet(&rng, &pool[i]);
}

static void run_packets(struct dp *dp, struct sw_emc *emc, uint64_t *rng, unsigned n,
                        uint64_t now, unsigned counts[3])
{
    for (unsigned i = 0; i < n; i++) {
        struct sw_flow_key k = pool[kk_test_rand(rng) % POOL];
        int where;
        int32_t got = forward(dp, emc, &k, now, &where);
        int32_t want = direct(dp, &k);
        if (got != want) {
            char buf[SW_FLOW_FORMAT_MAX];
            struct sw_flow_mask ex;
            sw_flow_mask_exact(&ex);
            sw_flow_format(&k, &ex, buf, sizeof(buf));
            fail_msg("packet %u (%s) level %d: cache %d, table %d", i, buf, where, got, want);
        }
        counts[where]++;
        if (i % 64 == 0)
            kk_rcu_quiescent();
    }
}

static void test_random_against_table(void **state)
{
    (void)state;
    load_shapes();
    load_pool();
    static const unsigned rule_counts[] = {1, 20, 200};
    for (size_t t = 0; t < KK_ARRAY_SIZE(rule_counts); t++) {
        uint64_t rng = 0x1234567 + t;
        struct dp dp;
        dp_init(&dp, &rng, rule_counts[t]);
        struct sw_emc *emc;
        assert_int_equal(sw_emc_create(t == 2 ? 4 : 0, &emc), 0);
        unsigned counts[3] = {0};
        uint64_t prng = 99 + t;
        run_packets(&dp, emc, &prng, 20000, 100, counts);
        /* Megaflows stay far below microflows with coarse rules. */
        unsigned mega = sw_mfc_count(dp.mfc);
        print_message("# %u rules: emc %u mfc %u miss %u, %u megaflows\n", rule_counts[t],
                      counts[HIT_EMC], counts[HIT_MFC], counts[MISS], mega);
        assert_int_equal(counts[MISS], mega);
        /* Coarse tables (few rules) must aggregate; 200 random rules
         * with /24 and port shapes split traffic finely. */
        assert_true(rule_counts[t] > 20 ? mega < POOL : mega * 4 < POOL);
        assert_true(counts[HIT_EMC] > 0 && counts[HIT_MFC] > 0);

        /* Same packets again: no more misses. */
        prng = 99 + t;
        unsigned again[3] = {0};
        run_packets(&dp, emc, &prng, 20000, 200, again);
        assert_int_equal(again[MISS], 0);

        /* Burst lookups agree with single ones. */
        struct sw_flow_key keys[45];
        const struct sw_flow_key *kp[45];
        struct sw_mfc_flow *flows[45];
        for (unsigned i = 0; i < 45; i++) {
            random_packet(&prng, &keys[i]);
            kp[i] = &keys[i];
        }
        unsigned hits = sw_mfc_lookup_burst(dp.mfc, kp, 45, flows);
        unsigned want_hits = 0;
        for (unsigned i = 0; i < 45; i++) {
            assert_ptr_equal(flows[i], sw_mfc_lookup(dp.mfc, &keys[i]));
            want_hits += flows[i] != NULL;
        }
        assert_int_equal(hits, want_hits);

        /* Change the rules: remove none (handles not kept), add higher
         * priority ones, publish, revalidate; then nothing stale. */
        for (unsigned i = 0; i < rule_counts[t] / 2 + 3; i++) {
            struct sw_flow_key k;
            struct sw_flow_mask m;
            random_rule(&rng, &k, &m);
            assert_int_equal(sw_cls_insert(dp.table, &k, &m, 40 + (int32_t)(i % 20), 2,
                                           (void *)(intptr_t)(1000 + i), NULL),
                             0);
        }
        assert_int_equal(sw_cls_publish(dp.table, 2), 0);
        unsigned before = sw_mfc_count(dp.mfc);
        unsigned deleted = sw_mfc_revalidate(dp.mfc, reval_cb, &dp);
        assert_int_equal(sw_mfc_count(dp.mfc), before - deleted);
        print_message("# revalidation: %u of %u megaflows deleted\n", deleted, before);
        assert_true(deleted > 0);
        kk_rcu_quiescent();
        prng = 99 + t;
        unsigned after[3] = {0};
        run_packets(&dp, emc, &prng, 20000, 300, after);

        /* Expiry: flows used at 300 survive idle 50 at 340, not at 400. */
        unsigned live = sw_mfc_count(dp.mfc);
        assert_int_equal(sw_mfc_expire(dp.mfc, 340, 50), 0);
        prng = 99 + t;
        struct sw_flow_key k0 = pool[kk_test_rand(&prng) % POOL];
        struct sw_mfc_flow *f0 = sw_mfc_lookup(dp.mfc, &k0);
        assert_non_null(f0);
        struct sw_mfc_flow_stats st;
        sw_mfc_flow_get_stats(f0, &st);
        assert_true(st.packets >= 3 && st.bytes == st.packets * 64 && st.used_ms == 300);
        sw_mfc_flow_account(f0, 390, 1, 64, 0x12);
        sw_mfc_flow_get_stats(f0, &st);
        assert_int_equal(st.tcp_flags & 0x12, 0x12);
        assert_int_equal(sw_mfc_expire(dp.mfc, 400, 50), live - 1);
        assert_int_equal(sw_mfc_count(dp.mfc), 1);
        kk_rcu_quiescent();
        /* EMC entries of expired flows must miss, and decisions stay right. */
        prng = 99 + t;
        unsigned final[3] = {0};
        run_packets(&dp, emc, &prng, 5000, 500, final);
        assert_true(final[MISS] > 0);

        sw_emc_destroy(emc);
        dp_fini(&dp);
    }
}

/* ---- a reader forwarding while a writer churns the cache ---- */

struct shared {
    struct dp dp;
    bool stop;
    unsigned forwarded;
};

static void *reader_main(void *arg)
{
    struct shared *s = arg;
    if (kk_rcu_register_thread() != 0)
        return (void *)1;
    struct sw_emc *emc;
    if (sw_emc_create(0, &emc) != 0)
        return (void *)1;
    uint64_t rng = 777;
    void *bad = NULL;
    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        for (int i = 0; i < 64; i++) {
            struct sw_flow_key k = pool[kk_test_rand(&rng) % POOL];
            uint64_t h = sw_emc_hash(&k);
            struct sw_mfc_flow *f = sw_emc_lookup(emc, &k, h);
            if (!f) {
                f = sw_mfc_lookup(s->dp.mfc, &k);
                if (f)
                    sw_emc_insert(emc, &k, h, f);
            }
            if (f) {
                sw_mfc_flow_account(f, 1, 1, 64, 0);
                size_t len;
                const void *a = sw_mfc_flow_actions(f, &len);
                int32_t d;
                memcpy(&d, a, sizeof(d));
                if (len != sizeof(d) || d != direct(&s->dp, &k))
                    bad = (void *)2;
            }
            __atomic_fetch_add(&s->forwarded, 1, __ATOMIC_RELEASE);
        }
        kk_rcu_quiescent();
    }
    sw_emc_destroy(emc);
    kk_rcu_unregister_thread();
    return bad;
}

static void test_concurrent_reader(void **state)
{
    (void)state;
    load_shapes();
    load_pool();
    assert_int_equal(kk_rcu_register_thread(), 0);
    struct shared s;
    memset(&s, 0, sizeof(s));
    uint64_t rng = 4242;
    dp_init(&s.dp, &rng, 50);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, reader_main, &s), 0);
    struct sw_emc *emc;
    assert_int_equal(sw_emc_create(0, &emc), 0);
    uint64_t prng = 777;
    for (int round = 0; round < 60; round++) {
        unsigned counts[3] = {0};
        run_packets(&s.dp, emc, &prng, 300, (uint64_t)round * 10, counts);
        if (round % 3 == 0)
            sw_mfc_expire(s.dp.mfc, (uint64_t)round * 10, 15);
        if (round % 7 == 0) {
            /* remove a random installed flow through a lookup */
            struct sw_flow_key k;
            random_packet(&prng, &k);
            struct sw_mfc_flow *f = sw_mfc_lookup(s.dp.mfc, &k);
            if (f)
                assert_int_equal(sw_mfc_remove(s.dp.mfc, f), 0);
        }
        kk_rcu_quiescent();
    }
    /* a loaded machine may not have run the reader yet: let it forward
     * something before stopping it (not a timing check: it waits) */
    for (int i = 0; i < 100000 && !__atomic_load_n(&s.forwarded, __ATOMIC_ACQUIRE); i++) {
        kk_rcu_quiescent();
        usleep(100);
    }
    __atomic_store_n(&s.stop, true, __ATOMIC_RELEASE);
    void *ret;
    /* Offline while blocked, or the reader's unregistration waits for a
     * grace period that waits for us. */
    kk_rcu_thread_offline();
    assert_int_equal(pthread_join(th, &ret), 0);
    kk_rcu_thread_online();
    assert_null(ret);
    assert_true(s.forwarded > 0);
    sw_emc_destroy(emc);
    dp_fini(&s.dp);
    kk_rcu_unregister_thread();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refused_calls, register_reader, unregister_reader),
        cmocka_unit_test_setup_teardown(test_random_against_table, register_reader,
                                        unregister_reader),
        cmocka_unit_test_setup_teardown(test_foreach_overlapping, register_reader,
                                        unregister_reader),
        cmocka_unit_test_setup_teardown(test_emc_burst_matches_single, register_reader,
                                        unregister_reader),
        cmocka_unit_test(test_concurrent_reader),
        cmocka_unit_test_setup_teardown(test_flow_ref_outlives_removal, register_reader,
                                        unregister_reader),
        cmocka_unit_test_setup_teardown(test_sharded_stats, register_reader, unregister_reader),
        cmocka_unit_test_setup_teardown(test_emc_fill_then_resist_thrash, register_reader,
                                        unregister_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
