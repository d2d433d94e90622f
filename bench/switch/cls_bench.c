/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cls_bench — classifier lookups per second on one core.
 *
 * For each rule count (1, 100, 1k, 10k, 100k) and number of distinct masks
 * (1, 4, 16), builds a classifier of IPv4 rules (dl_type exact, nw_dst
 * prefixes of different lengths, some with tp_dst or in_port) with random
 * priorities, then looks up 4096 packets round-robin for a fixed time:
 * half are copies of rule keys (hits, so priority early exit plays), half
 * random (mostly misses, which visit every subtable). Every lookup also
 * collects wildcards, as the megaflow slow path does; a second run of the
 * same packets looks up without wildcards (as a cache would), a third in
 * bursts of 32 without wildcards (sw_cls_lookup_burst).
 *
 * Time is the thread's CPU time, so the figures are per core even on a
 * shared machine.
 *
 * Usage: cls_bench [seconds per case, default 0.2 [RULES MASKS]]
 * Output: one line per case, then a JSON array on the last line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classifier.h"
#include "kk_common.h"
#include "kk_rcu.h"

#define PACKETS 4096

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 2685821657736338717ull;
}

/* CPU time of this thread in microseconds: per-core throughput even when
 * the machine is shared (wall time would count other processes' turns). */
static uint64_t cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void make_mask(unsigned i, struct sw_flow_mask *m)
{
    memset(m, 0, sizeof(*m));
    m->masks.dl_type = 0xffff;
    unsigned plen = 8 + (i * 3) % 25; /* 8..32 */
    m->masks.nw_dst = plen == 32 ? UINT32_MAX : ~(UINT32_MAX >> plen);
    if (i & 1) {
        m->masks.nw_proto = 0xff;
        m->masks.tp_dst = 0xffff;
    }
    if (i & 2)
        m->masks.in_port = UINT32_MAX;
    if (i & 4)
        m->masks.nw_src = 0xffff0000u;
    if (i & 8)
        m->masks.nw_tos = 0xfc;
}

static void random_key(struct sw_flow_key *k)
{
    memset(k, 0, sizeof(*k));
    uint64_t r = rnd();
    k->in_port = 1 + (uint32_t)(r % 16);
    k->dl_type = PKT_ETH_TYPE_IPV4;
    k->nw_proto = PKT_IPPROTO_TCP;
    k->nw_dst = (uint32_t)(r >> 8);
    r = rnd();
    k->nw_src = (uint32_t)r;
    k->tp_dst = (uint16_t)(r >> 32);
    k->tp_src = (uint16_t)(r >> 48);
    k->nw_tos = (uint8_t)((r >> 40) & 0xfc);
}

struct result {
    unsigned rules, masks, subtables;
    double mlps, ns, hit_ratio;
    double mlps_nowc;  /* lookups without wildcard collection */
    double mlps_burst; /* bursts of 32 without wildcards */
};

static struct result run_case(unsigned n_rules, unsigned n_masks, double seconds)
{
    struct sw_cls *cls;
    if (sw_cls_create(&cls) != 0)
        abort();
    struct sw_flow_key *keys = malloc(sizeof(*keys) * n_rules);
    if (!keys)
        abort();
    for (unsigned i = 0; i < n_rules; i++) {
        struct sw_flow_mask m;
        make_mask(i % n_masks, &m);
        random_key(&keys[i]);
        if (sw_cls_insert(cls, &keys[i], &m, (int32_t)(rnd() % 1000), 1, (void *)(uintptr_t)i,
                          NULL) != 0)
            abort();
    }
    struct sw_flow_key *pkts = malloc(sizeof(*pkts) * PACKETS);
    if (!pkts)
        abort();
    for (unsigned i = 0; i < PACKETS; i++) {
        if (i & 1) {
            random_key(&pkts[i]);
        } else {
            pkts[i] = keys[rnd() % n_rules];
            struct sw_flow_key noise;
            random_key(&noise);
            pkts[i].tp_src = noise.tp_src; /* not in any mask */
        }
    }
    struct sw_cls_stats st;
    sw_cls_get_stats(cls, &st);

    uint64_t version = sw_cls_version(cls), hits = 0, n = 0;
    uint64_t t0 = cpu_us(), deadline = t0 + (uint64_t)(seconds * 1e6), t1;
    do {
        for (unsigned i = 0; i < PACKETS; i++) {
            struct sw_flow_mask wc;
            memset(&wc, 0, sizeof(wc));
            hits += sw_cls_lookup(cls, version, &pkts[i], &wc) != NULL;
        }
        n += PACKETS;
        t1 = cpu_us();
    } while (t1 < deadline);
    double secs = (double)(t1 - t0) / 1e6;
    struct result res = {n_rules, n_masks, st.subtables, (double)n / secs / 1e6,
                         secs * 1e9 / (double)n, (double)hits / (double)n, 0};

    /* The same without wildcards (a cache lookup: no tries either). */
    uint64_t n2 = 0, sink = 0;
    t0 = cpu_us();
    deadline = t0 + (uint64_t)(seconds * 1e6);
    do {
        for (unsigned i = 0; i < PACKETS; i++)
            sink += sw_cls_lookup(cls, version, &pkts[i], NULL) != NULL;
        n2 += PACKETS;
        t1 = cpu_us();
    } while (t1 < deadline);
    res.mlps_nowc = (double)n2 / ((double)(t1 - t0) / 1e6) / 1e6;

    /* And in bursts of 32 (subtable by subtable, slots prefetched). */
    const struct sw_flow_key *ptrs[PACKETS];
    const struct sw_cls_rule *out[SW_CLS_BURST];
    for (unsigned i = 0; i < PACKETS; i++)
        ptrs[i] = &pkts[i];
    uint64_t n3 = 0;
    t0 = cpu_us();
    deadline = t0 + (uint64_t)(seconds * 1e6);
    do {
        for (unsigned i = 0; i < PACKETS; i += SW_CLS_BURST)
            sink += sw_cls_lookup_burst(cls, version, ptrs + i, SW_CLS_BURST, out, NULL);
        n3 += PACKETS;
        t1 = cpu_us();
    } while (t1 < deadline);
    res.mlps_burst = (double)n3 / ((double)(t1 - t0) / 1e6) / 1e6;
    if (sink == UINT64_MAX)
        printf("#");
    sw_cls_destroy(cls);
    free(keys);
    free(pkts);
    return res;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 0.2;
    if (seconds <= 0)
        seconds = 0.2;
    if (argc > 3) {
        /* One case: cls_bench SECONDS RULES MASKS (for profiling). */
        struct result r = run_case((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]), seconds);
        printf("%u rules, %u masks: %.2f Mlookups/s (%.1f ns), %.2f without wildcards, %.2f "
               "in bursts\n",
               r.rules, r.masks, r.mlps, r.ns, r.mlps_nowc, r.mlps_burst);
        return 0;
    }
    static const unsigned rule_counts[] = {1, 100, 1000, 10000, 100000};
    static const unsigned mask_counts[] = {1, 4, 16};
    struct result res[KK_ARRAY_SIZE(rule_counts) * KK_ARRAY_SIZE(mask_counts)];
    unsigned nres = 0;
    printf("%8s %6s %9s %12s %9s %6s %14s %14s\n", "rules", "masks", "subtables", "Mlookups/s",
           "ns/lookup", "hits", "no-wc Mlkp/s", "burst Mlkp/s");
    for (size_t i = 0; i < KK_ARRAY_SIZE(rule_counts); i++) {
        for (size_t j = 0; j < KK_ARRAY_SIZE(mask_counts); j++) {
            if (mask_counts[j] > rule_counts[i])
                continue;
            struct result r = run_case(rule_counts[i], mask_counts[j], seconds);
            res[nres++] = r;
            printf("%8u %6u %9u %12.2f %9.1f %5.0f%% %14.2f %14.2f\n", r.rules, r.masks,
                   r.subtables, r.mlps, r.ns, r.hit_ratio * 100, r.mlps_nowc, r.mlps_burst);
            fflush(stdout);
        }
    }
    printf("[");
    for (unsigned i = 0; i < nres; i++)
        printf("%s{\"rules\": %u, \"masks\": %u, \"mlookups_per_s\": %.3f, \"ns_per_lookup\": "
               "%.1f, \"mlookups_per_s_no_wc\": %.3f, \"mlookups_per_s_burst\": %.3f}",
               i ? ", " : "", res[i].rules, res[i].masks, res[i].mlps, res[i].ns, res[i].mlps_nowc,
               res[i].mlps_burst);
    printf("]\n");
    return 0;
}
