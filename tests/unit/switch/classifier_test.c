/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The classifier against a naive linear scan. Refused calls first; then
 * random rule sets (masks from a small set of shapes, heavily overlapping,
 * many equal priorities) and random packets, over several versions with
 * insertions and removals; every lookup's wildcards are checked for
 * soundness by perturbing the bits they leave out; staged lookup and
 * priority early exit are checked to leave fields wildcarded; finally a
 * writer thread changes the rules while reader threads look up, and every
 * result must be the reference's at the version the reader used (ASan
 * catches a rule freed too early).
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "classifier.h"
#include "kk_common.h"
#include "kk_rcu.h"
#include "kk_test.h"

/* ---- rule shapes and random keys ---- */

static const char *const shapes[] = {
    "",
    "in_port=0",
    "dl_dst=00:00:00:00:00:00",
    "in_port=0,dl_vlan=0",
    "ip,nw_dst=0.0.0.0/24",
    "ip,nw_src=0.0.0.0/16,nw_dst=0.0.0.0",
    "tcp,tp_dst=0",
    "tcp,nw_dst=0.0.0.0/8,tp_dst=0",
    "udp,tp_src=0/0xff00",
    "in_port=0,tcp,nw_src=0.0.0.0/24,tp_dst=0",
    "ipv6,ipv6_dst=::/64",
    "arp,arp_tpa=0.0.0.0",
    "in_port=0,ip,ip_dscp=0",
    "tcp,tcp_flags=+syn-ack",
    "ip,ip_frag=not_later,nw_ttl=0",
    "dl_src=00:00:00:00:00:00/01:00:00:00:00:00,ipv6,ipv6_src=::/16",
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

/* A packet key from small value pools, so rules overlap and match. */
static void random_packet(uint64_t *rng, struct sw_flow_key *k)
{
    memset(k, 0, sizeof(*k));
    uint64_t r = kk_test_rand(rng);
    k->in_port = 1 + (uint32_t)(r % 4);
    k->dl_dst[5] = (uint8_t)(r >> 8) % 4;
    k->dl_src[0] = (uint8_t)(r >> 12) % 2;
    k->dl_src[5] = (uint8_t)(r >> 16);
    if ((r >> 20) % 3 == 0)
        k->vlan_tci = (uint16_t)(SW_VLAN_PRESENT | ((r >> 22) % 3));
    static const uint16_t types[] = {PKT_ETH_TYPE_IPV4, PKT_ETH_TYPE_IPV4, PKT_ETH_TYPE_IPV6,
                                     PKT_ETH_TYPE_ARP};
    k->dl_type = types[(r >> 24) % 4];
    r = kk_test_rand(rng);
    k->nw_src = 0x0a000000u | (uint32_t)(r % 4) << 16 | (uint32_t)((r >> 2) % 4) << 8 |
                (uint32_t)((r >> 4) % 4);
    k->nw_dst = 0x0a000000u | (uint32_t)((r >> 6) % 4) << 16 | (uint32_t)((r >> 8) % 4) << 8 |
                (uint32_t)((r >> 10) % 4);
    k->ipv6_src[0] = 0x20;
    k->ipv6_src[1] = (uint8_t)((r >> 12) % 3);
    k->ipv6_dst[7] = (uint8_t)((r >> 14) % 4);
    k->ipv6_dst[15] = (uint8_t)(r >> 16);
    static const uint8_t protos[] = {PKT_IPPROTO_TCP, PKT_IPPROTO_TCP, PKT_IPPROTO_UDP,
                                     PKT_IPPROTO_ICMP};
    k->nw_proto = protos[(r >> 24) % 4];
    k->nw_tos = (uint8_t)(((r >> 26) % 3) << 2);
    k->nw_ttl = (uint8_t)(62 + (r >> 28) % 3);
    k->nw_frag = (uint8_t)((r >> 30) % 4 == 0 ? SW_FRAG_ANY | SW_FRAG_LATER : 0);
    r = kk_test_rand(rng);
    static const uint16_t ports[] = {80, 443, 53, 22, 0x1234};
    k->tp_src = ports[r % 5];
    k->tp_dst = ports[(r >> 4) % 5];
    k->tcp_flags = (uint16_t)((r >> 8) & 0x3f);
}

/* ---- the reference ---- */

struct ref_rule {
    struct sw_flow_key key;
    struct sw_flow_mask mask;
    int32_t priority;
    uint64_t add_version;
    uint64_t remove_version; /* atomic in the threaded test */
    struct sw_cls_rule *handle;
};

static bool ref_visible(const struct ref_rule *r, uint64_t v)
{
    return r->add_version <= v && v < __atomic_load_n(&r->remove_version, __ATOMIC_RELAXED);
}

/* Rules are in insertion order, so the first of equal priority wins. */
static int ref_lookup(const struct ref_rule *rules, size_t n, uint64_t v,
                      const struct sw_flow_key *k)
{
    int best = -1;
    for (size_t i = 0; i < n; i++) {
        const struct ref_rule *r = &rules[i];
        if (!ref_visible(r, v) || !sw_flow_key_equal_masked(k, &r->key, &r->mask))
            continue;
        if (best < 0 || r->priority > rules[best].priority)
            best = (int)i;
    }
    return best;
}

static int rule_index(const struct sw_cls_rule *r)
{
    return r ? (int)(intptr_t)sw_cls_rule_user(r) - 1 : -1;
}

/* ---- refused calls ---- */

static void test_refused_calls(void **state)
{
    struct sw_cls *cls;
    assert_int_equal(sw_cls_create(NULL), -EINVAL);
    assert_int_equal(sw_cls_create(&cls), 0);
    struct sw_flow_key k;
    struct sw_flow_mask m;
    memset(&k, 0, sizeof(k));
    memset(&m, 0, sizeof(m));
    struct sw_cls_rule *r;
    assert_int_equal(sw_cls_insert(NULL, &k, &m, 1, 1, NULL, &r), -EINVAL);
    assert_int_equal(sw_cls_insert(cls, NULL, &m, 1, 1, NULL, &r), -EINVAL);
    assert_int_equal(sw_cls_insert(cls, &k, NULL, 1, 1, NULL, &r), -EINVAL);
    assert_int_equal(sw_cls_insert(cls, &k, &m, 1, 0, NULL, &r), -EINVAL);
    assert_int_equal(sw_cls_insert(cls, &k, &m, 1, SW_CLS_VERSION_NEVER, NULL, &r), -EINVAL);
    assert_int_equal(sw_cls_remove(cls, NULL, 2), -EINVAL);
    assert_int_equal(sw_cls_publish(NULL, 2), -EINVAL);

    /* Empty: no rule, nothing consulted. */
    struct sw_flow_mask wc;
    memset(&wc, 0, sizeof(wc));
    assert_null(sw_cls_lookup(cls, 1, &k, &wc));
    assert_true(sw_flow_mask_is_catchall(&wc));

    assert_int_equal(sw_cls_insert(cls, &k, &m, 5, 3, (void *)1, &r), 0);
    assert_int_equal(sw_cls_remove(cls, r, 2), -EINVAL); /* before its add version */
    assert_int_equal(sw_cls_remove(cls, r, 4), 0);
    assert_int_equal(sw_cls_remove(cls, r, 5), -EINVAL); /* already removed */
    assert_null(sw_cls_lookup(cls, 2, &k, NULL));
    assert_ptr_equal(sw_cls_lookup(cls, 3, &k, NULL), r);
    assert_int_equal(sw_cls_rule_priority(r), 5);
    assert_true(sw_cls_rule_visible(r, 3));
    assert_false(sw_cls_rule_visible(r, 4));
    assert_null(sw_cls_lookup(cls, 4, &k, NULL));
    assert_int_equal(sw_cls_publish(cls, 3), 0);
    assert_int_equal(sw_cls_publish(cls, 2), -EINVAL); /* backwards */
    assert_int_equal(sw_cls_publish(cls, SW_CLS_VERSION_NEVER), -EINVAL);
    struct sw_cls_stats st;
    sw_cls_get_stats(cls, &st);
    assert_int_equal(st.version, 3);
    assert_int_equal(st.rules, 1);
    assert_int_equal(st.subtables, 1);
    assert_int_equal(st.pending_removal, 1);
    /* Destroyed with a removal pending: no leak (ASan). */
    sw_cls_destroy(cls);
    sw_cls_destroy(NULL);
}

/* ---- random rule sets against the reference ---- */

/* Every packet equal to @k on the bits of @wc gets the same answer. */
static void check_wildcards(uint64_t *rng, const struct ref_rule *rules, size_t n, uint64_t v,
                            const struct sw_flow_key *k, const struct sw_flow_mask *wc, int want)
{
    const uint64_t *w = sw_flow_key_words(&wc->masks);
    for (int t = 0; t < 8; t++) {
        struct sw_flow_key p = *k;
        uint64_t *pw = sw_flow_key_words_rw(&p);
        if (t < 4) {
            /* Random bits anywhere outside wc. */
            for (int i = 0; i < SW_FLOW_KEY_WORDS; i++)
                pw[i] ^= kk_test_rand(rng) & ~w[i];
        } else {
            /* Another packet from the pools, forced to agree on wc. */
            struct sw_flow_key q;
            random_packet(rng, &q);
            const uint64_t *qw = sw_flow_key_words(&q);
            for (int i = 0; i < SW_FLOW_KEY_WORDS; i++)
                pw[i] = (pw[i] & w[i]) | (qw[i] & ~w[i]);
        }
        int got = ref_lookup(rules, n, v, &p);
        if (got != want) {
            char a[SW_FLOW_FORMAT_MAX], b[SW_FLOW_FORMAT_MAX];
            struct sw_flow_mask exact;
            sw_flow_mask_exact(&exact);
            sw_flow_format(k, wc, a, sizeof(a));
            sw_flow_format(&p, &exact, b, sizeof(b));
            fail_msg("unsound wildcards %s: packet %s gets rule %d, not %d", a, b, got, want);
        }
    }
}

static void random_rule(uint64_t *rng, struct ref_rule *r, int32_t max_priority,
                        size_t n_shapes)
{
    struct sw_flow_key p;
    random_packet(rng, &p);
    memset(r, 0, sizeof(*r));
    r->mask = shape_masks[kk_test_rand(rng) % n_shapes];
    sw_flow_key_mask(&r->key, &p, &r->mask);
    r->priority = (int32_t)(kk_test_rand(rng) % (uint64_t)(max_priority + 1));
    r->remove_version = SW_CLS_VERSION_NEVER;
}

static void run_random(uint64_t seed, size_t n_rules, int32_t max_priority, size_t n_shapes,
                       unsigned *lookups)
{
    uint64_t rng = seed;
    size_t cap = n_rules * 4;
    struct ref_rule *rules = calloc(cap, sizeof(*rules));
    assert_non_null(rules);
    size_t n = 0;
    struct sw_cls *cls;
    assert_int_equal(sw_cls_create(&cls), 0);
    uint64_t v = 1;
    for (int round = 0; round < 4; round++) {
        uint64_t next = v + 1;
        /* Round 0 fills; later rounds replace about a third. */
        size_t adds = round == 0 ? n_rules : n_rules / 3;
        if (round > 0) {
            for (size_t i = 0; i < n; i++) {
                if (rules[i].remove_version == SW_CLS_VERSION_NEVER &&
                    kk_test_rand(&rng) % 3 == 0) {
                    assert_int_equal(sw_cls_remove(cls, rules[i].handle, next), 0);
                    rules[i].remove_version = next;
                }
            }
        }
        for (size_t a = 0; a < adds && n < cap; a++, n++) {
            struct ref_rule *r = &rules[n];
            random_rule(&rng, r, max_priority, n_shapes);
            r->add_version = next;
            assert_int_equal(sw_cls_insert(cls, &r->key, &r->mask, r->priority, next,
                                           (void *)(intptr_t)(n + 1), &r->handle),
                             0);
        }
        /* Before publishing, both versions answer as the reference does;
         * after, the new one (removed rules may be unlinked by then: a
         * lookup at an older version is only valid inside the read-side
         * section that read that version). */
        for (int phase = 0; phase < 2; phase++) {
            for (int i = 0; i < 300; i++) {
                struct sw_flow_key p;
                random_packet(&rng, &p);
                uint64_t at = (i & 1) && phase == 0 ? v : next;
                struct sw_flow_mask wc;
                memset(&wc, 0, sizeof(wc));
                int got = rule_index(sw_cls_lookup(cls, at, &p, &wc));
                int want = ref_lookup(rules, n, at, &p);
                if (got != want) {
                    char a[SW_FLOW_FORMAT_MAX], b[SW_FLOW_FORMAT_MAX];
                    struct sw_flow_mask exact;
                    sw_flow_mask_exact(&exact);
                    sw_flow_format(&p, &exact, a, sizeof(a));
                    if (want >= 0)
                        sw_flow_format(&rules[want].key, &rules[want].mask, b, sizeof(b));
                    else
                        b[0] = '\0';
                    if (got >= 0)
                        fprintf(stderr, "got rule %d prio %d, want %d prio %d\n", got,
                                rules[got].priority, want, rules[want].priority);
                    else if (want >= 0)
                        fprintf(stderr, "got none, want %d prio %d visible %d\n", want,
                                rules[want].priority,
                                sw_cls_rule_visible(rules[want].handle, at));
                    for (size_t q = 0; q < n; q++)
                        if (sw_flow_key_equal_masked(&p, &rules[q].key, &rules[q].mask))
                            fprintf(stderr, " match %zu prio %d [%llu,%llu) user %d\n", q,
                                    rules[q].priority,
                                    (unsigned long long)rules[q].add_version,
                                    (unsigned long long)rules[q].remove_version,
                                    rule_index(rules[q].handle));
                    fail_msg("round %d at %llu: packet %s\n wanted rule %s [%llu,%llu)", round,
                             (unsigned long long)at, a, b,
                             (unsigned long long)(want >= 0 ? rules[want].add_version : 0),
                             (unsigned long long)(want >= 0 ? rules[want].remove_version : 0));
                }
                check_wildcards(&rng, rules, n, at, &p, &wc, want);
                (*lookups)++;
                kk_rcu_quiescent();
            }
            /* Bursts give exactly what single lookups give. Wildcards too,
             * once no unlinking is under way (removing a node changes where
             * a staged lookup stops, not its result). */
            kk_rcu_barrier();
            for (int b = 0; b < 4; b++) {
                enum { N = 45 }; /* more than one burst step */
                struct sw_flow_key pk[N];
                const struct sw_flow_key *pp[N];
                const struct sw_cls_rule *got[N];
                struct sw_flow_mask wcs[N], wc1;
                memset(wcs, 0, sizeof(wcs));
                for (int i = 0; i < N; i++) {
                    random_packet(&rng, &pk[i]);
                    pp[i] = &pk[i];
                }
                unsigned hits = sw_cls_lookup_burst(cls, next, pp, N, got, b & 1 ? NULL : wcs);
                unsigned want_hits = 0;
                for (int i = 0; i < N; i++) {
                    memset(&wc1, 0, sizeof(wc1));
                    const struct sw_cls_rule *one = sw_cls_lookup(cls, next, &pk[i], &wc1);
                    assert_ptr_equal(got[i], one);
                    if (!(b & 1))
                        assert_memory_equal(&wcs[i], &wc1, sizeof(wc1));
                    want_hits += one != NULL;
                }
                assert_int_equal(hits, want_hits);
                kk_rcu_quiescent();
            }
            if (phase == 0)
                assert_int_equal(sw_cls_publish(cls, next), 0);
        }
        v = next;
    }
    kk_rcu_barrier();
    kk_rcu_barrier();
    struct sw_cls_stats st;
    sw_cls_get_stats(cls, &st);
    size_t live = 0;
    for (size_t i = 0; i < n; i++)
        live += rules[i].remove_version == SW_CLS_VERSION_NEVER;
    assert_int_equal(st.rules, live); /* removed rules were reclaimed */
    assert_int_equal(st.pending_removal, 0);
    assert_true(st.subtables <= n_shapes);
    sw_cls_destroy(cls);
    free(rules);
}

/* The test thread looks up while the reclaimer thread unlinks removed
 * rules, so it is an RCU reader like any other. */
static int register_reader(void **state)
{
    return kk_rcu_register_thread();
}

static int unregister_reader(void **state)
{
    kk_rcu_unregister_thread();
    return 0;
}

static void test_random_against_reference(void **state)
{
    load_shapes();
    unsigned lookups = 0;
    static const struct {
        size_t rules;
        int32_t max_priority;
        size_t shapes;
    } sets[] = {
        {1, 3, N_SHAPES},   {10, 3, N_SHAPES},  {100, 0, N_SHAPES}, {100, 5, 4},
        {300, 20, N_SHAPES}, {1000, 1000, N_SHAPES}, {2000, 3, N_SHAPES},
    };
    for (size_t i = 0; i < KK_ARRAY_SIZE(sets); i++)
        run_random(0xc1a55 + i, sets[i].rules, sets[i].max_priority, sets[i].shapes, &lookups);
    printf("# %u lookups checked against the reference, with wildcard soundness\n", lookups);
}

/* ---- megaflow width ---- */

static void insert_text(struct sw_cls *cls, const char *text, int32_t prio, intptr_t id)
{
    struct sw_flow_key k;
    struct sw_flow_mask m;
    assert_int_equal(sw_flow_parse(text, &k, &m, NULL, 0), 0);
    assert_int_equal(sw_cls_insert(cls, &k, &m, prio, 1, (void *)id, NULL), 0);
}

static void lookup_text(const struct sw_cls *cls, const char *pkt, intptr_t want,
                        const char *want_wc)
{
    struct sw_flow_key k;
    struct sw_flow_mask m, wc;
    assert_int_equal(sw_flow_parse(pkt, &k, &m, NULL, 0), 0);
    memset(&wc, 0, sizeof(wc));
    const struct sw_cls_rule *r = sw_cls_lookup(cls, 1, &k, &wc);
    assert_int_equal(r ? (intptr_t)sw_cls_rule_user(r) : 0, want);
    char got[SW_FLOW_FORMAT_MAX];
    sw_flow_format(&k, &wc, got, sizeof(got));
    if (strcmp(got, want_wc) != 0)
        fail_msg("%s: megaflow %s, want %s", pkt, got, want_wc);
}

static void test_megaflows_stay_wide(void **state)
{
    struct sw_cls *cls;
    assert_int_equal(sw_cls_create(&cls), 0);
    insert_text(cls, "in_port=1,tcp,nw_dst=10.0.0.0/24,tp_dst=80", 10, 1);
    /* Staged: the port misses, so L3 and L4 stay wildcarded. */
    lookup_text(cls, "in_port=2,tcp,nw_dst=10.0.0.5,tp_dst=80", 0, "in_port=2");
    /* L3 misses and the nw_dst trie proves no /24 matches: the 24 bits it
     * looked at are all the megaflow needs from this subtable. */
    lookup_text(cls, "in_port=1,tcp,nw_dst=10.0.1.5,tp_dst=80", 0, "nw_dst=10.0.1.0/24");
    /* A hit consults the whole mask. */
    lookup_text(cls, "in_port=1,tcp,nw_dst=10.0.0.5,tp_dst=80,tp_src=9", 1,
                "in_port=1,tcp,nw_dst=10.0.0.0/24,tp_dst=80");
    /* Tries: 10.0.0.0/24 is the only nw_dst prefix; 192.168.1.1 differs
     * from it in the first bit, so one bit of nw_dst is enough. */
    lookup_text(cls, "in_port=1,tcp,nw_dst=192.168.1.1,tp_dst=80", 0, "nw_dst=128.0.0.0/1");
    /* When the address does match a prefix, an L3 miss reports the stages
     * hashed so far (the ports were not looked at). */
    lookup_text(cls, "in_port=1,icmp,nw_dst=10.0.0.9", 0, "in_port=1,icmp,nw_dst=10.0.0.0/24");
    insert_text(cls, "ip,nw_src=10.1.0.0/16,nw_dst=10.0.0.0/8", 5, 5);
    lookup_text(cls, "in_port=9,tcp,nw_src=10.2.3.4,nw_dst=10.9.9.9", 0,
                "in_port=9,nw_src=10.2.0.0/15");
    /* Priority: a higher rule that matches hides lower subtables. */
    insert_text(cls, "in_port=3", 100, 2);
    lookup_text(cls, "in_port=3,tcp,nw_dst=10.0.0.5,tp_dst=80", 2, "in_port=3");
    /* Equal priorities: the first inserted wins, in any subtable order. */
    insert_text(cls, "tcp,tp_dst=22", 100, 3);
    insert_text(cls, "in_port=4", 100, 4);
    lookup_text(cls, "in_port=4,tcp,tp_dst=22", 3, "in_port=4,tcp,tp_dst=22");
    sw_cls_destroy(cls);
}

/* ---- a writer changes rules while readers look up ---- */

#define MT_RECORDS 3000
#define MT_READERS 2

struct mt {
    struct sw_cls *cls;
    struct ref_rule *rules;
    size_t n; /* published with release */
    int stop;
    uint64_t lookups[MT_READERS];
    uint64_t versions_seen[MT_READERS];
};

struct reader_arg {
    struct mt *mt;
    int id;
};

static void *mt_reader(void *arg)
{
    struct reader_arg *ra = arg;
    struct mt *mt = ra->mt;
    uint64_t rng = 0x5eed + (uint64_t)ra->id;
    assert_int_equal(kk_rcu_register_thread(), 0);
    uint64_t last_v = 0;
    while (!__atomic_load_n(&mt->stop, __ATOMIC_ACQUIRE)) {
        for (int burst = 0; burst < 16; burst++) {
            uint64_t v = sw_cls_version(mt->cls);
            size_t n = __atomic_load_n(&mt->n, __ATOMIC_ACQUIRE);
            /* Odd turns look up a burst of 4, even ones a single packet. */
            enum { B = 4 };
            struct sw_flow_key p[B];
            const struct sw_flow_key *pp[B];
            const struct sw_cls_rule *r[B];
            unsigned nb = burst & 1 ? B : 1;
            for (unsigned i = 0; i < nb; i++) {
                random_packet(&rng, &p[i]);
                pp[i] = &p[i];
            }
            if (nb == 1)
                r[0] = sw_cls_lookup(mt->cls, v, &p[0], NULL);
            else
                sw_cls_lookup_burst(mt->cls, v, pp, nb, r, NULL);
            for (unsigned i = 0; i < nb; i++) {
                int got = rule_index(r[i]);
                if (r[i] && sw_cls_rule_priority(r[i]) != mt->rules[got].priority)
                    abort();
                int want = ref_lookup(mt->rules, n, v, &p[i]);
                if (got != want) {
                    fprintf(stderr, "reader %d at version %llu: rule %d, want %d\n", ra->id,
                            (unsigned long long)v, got, want);
                    abort();
                }
            }
            __atomic_fetch_add(&mt->lookups[ra->id], nb, __ATOMIC_RELAXED);
            if (v != last_v) {
                mt->versions_seen[ra->id]++;
                last_v = v;
            }
        }
        kk_rcu_quiescent();
    }
    kk_rcu_unregister_thread();
    return NULL;
}

static void test_concurrent_writer_and_readers(void **state)
{
    load_shapes();
    struct mt mt = {0};
    mt.rules = calloc(MT_RECORDS, sizeof(*mt.rules));
    assert_non_null(mt.rules);
    assert_int_equal(sw_cls_create(&mt.cls), 0);
    uint64_t rng = 0x3ead;
    pthread_t th[MT_READERS];
    struct reader_arg ra[MT_READERS];
    for (int i = 0; i < MT_READERS; i++) {
        ra[i] = (struct reader_arg){&mt, i};
        assert_int_equal(pthread_create(&th[i], NULL, mt_reader, &ra[i]), 0);
    }
    uint64_t v = 1;
    size_t live = 0;
    int rounds = 0;
    while (mt.n + 20 <= MT_RECORDS) {
        uint64_t next = v + 1;
        /* Remove a few live rules, then add some, all at the next version
         * (a removal at the published version would change what that
         * version means under the readers' feet). */
        for (size_t i = 0; i < mt.n && live > 50; i++) {
            struct ref_rule *r = &mt.rules[i];
            if (r->remove_version != SW_CLS_VERSION_NEVER || kk_test_rand(&rng) % 16)
                continue;
            uint64_t at = next;
            __atomic_store_n(&r->remove_version, at, __ATOMIC_RELEASE);
            assert_int_equal(sw_cls_remove(mt.cls, r->handle, at), 0);
            live--;
        }
        for (int a = 0; a < 20; a++) {
            struct ref_rule *r = &mt.rules[mt.n];
            random_rule(&rng, r, 20, N_SHAPES);
            r->add_version = next;
            __atomic_store_n(&mt.n, mt.n + 1, __ATOMIC_RELEASE);
            assert_int_equal(sw_cls_insert(mt.cls, &r->key, &r->mask, r->priority, next,
                                           (void *)(intptr_t)(r - mt.rules + 1), &r->handle),
                             0);
            live++;
        }
        assert_int_equal(sw_cls_publish(mt.cls, next), 0);
        v = next;
        rounds++;
        usleep(500);
        /* Every 10 versions, let each reader get some lookups in (on a
         * loaded machine a reader thread may otherwise starve). */
        for (int i = 0; rounds % 10 == 0 && i < MT_READERS; i++) {
            uint64_t seen = __atomic_load_n(&mt.lookups[i], __ATOMIC_RELAXED);
            for (int w = 0; w < 2000 && __atomic_load_n(&mt.lookups[i], __ATOMIC_RELAXED) == seen;
                 w++)
                usleep(1000);
        }
    }
    usleep(20000);
    __atomic_store_n(&mt.stop, 1, __ATOMIC_RELEASE);
    uint64_t total = 0;
    for (int i = 0; i < MT_READERS; i++) {
        pthread_join(th[i], NULL);
        total += mt.lookups[i];
        assert_true(mt.versions_seen[i] > 1);
    }
    printf("# %d versions published, %llu concurrent lookups checked\n", rounds,
           (unsigned long long)total);
    assert_true(total > 0);
    sw_cls_destroy(mt.cls);
    free(mt.rules);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refused_calls, register_reader, unregister_reader),
        cmocka_unit_test_setup_teardown(test_random_against_reference, register_reader,
                                        unregister_reader),
        cmocka_unit_test_setup_teardown(test_megaflows_stay_wide, register_reader,
                                        unregister_reader),
        cmocka_unit_test(test_concurrent_writer_and_readers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
