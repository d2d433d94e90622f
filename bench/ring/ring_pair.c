/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Two-core ring cases, kvmkit and DPDK in one harness.
 *
 * dpdk-test's two-core and all-core ring cases run once, for a few
 * milliseconds, so on a shared virtual machine a single descheduling of
 * either core can change their result several-fold. This program links
 * DPDK's librte_ring (Debian's libdpdk-dev; no EAL needed for a ring in
 * plain memory) next to kvmkit's ring and runs the same cases for both,
 * alternating kvmkit and DPDK trial by trial, and reports the median of
 * many trials for each. Same code, same memory layout of the test, same
 * moments in time: what remains is the rings' own difference.
 *
 *   two cores   core 0 enqueues, core 1 dequeues (bulk): cycles per
 *               element, both sides summed (as dpdk-test reports)
 *   all cores   each core enqueues then dequeues n (MP/MC bulk):
 *               cycles per round per core
 *
 * Output: "pair: <case>: dpdk=<v> kvmkit=<v>" per case.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_ring.h>

#include "kk_common.h"
#include "kk_ring.h"

#define RING_SIZE 4096
#define TRIALS 31
#define ITERATIONS (1u << 16)

enum impl { DPDK, KVMKIT };

static struct rte_ring *dpdk_ring;
static struct kk_ring *kk;

struct side {
    enum impl impl;
    bool multi;
    bool enqueue;
    unsigned size;
    int cpu;
    double cycles_per_elem;
};

static volatile unsigned ready;

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void sync_start(unsigned n)
{
    if (__atomic_add_fetch(&ready, 1, __ATOMIC_SEQ_CST) != n)
        while (__atomic_load_n(&ready, __ATOMIC_SEQ_CST) != n)
            kk_cpu_relax();
}

static void *pair_side(void *arg)
{
    struct side *s = arg;
    void *burst[32] = {0};
    pin(s->cpu);
    sync_start(2);
    uint64_t t0 = kk_rdtsc();
    for (unsigned i = 0; i < ITERATIONS; i++) {
        if (s->impl == DPDK) {
            if (s->enqueue && s->multi)
                while (rte_ring_mp_enqueue_bulk(dpdk_ring, burst, s->size, NULL) == 0)
                    rte_pause();
            else if (s->enqueue)
                while (rte_ring_sp_enqueue_bulk(dpdk_ring, burst, s->size, NULL) == 0)
                    rte_pause();
            else if (s->multi)
                while (rte_ring_mc_dequeue_bulk(dpdk_ring, burst, s->size, NULL) == 0)
                    rte_pause();
            else
                while (rte_ring_sc_dequeue_bulk(dpdk_ring, burst, s->size, NULL) == 0)
                    rte_pause();
        } else {
            if (s->enqueue && s->multi)
                while (kk_ring_mp_enqueue_bulk(kk, burst, s->size) == 0)
                    kk_cpu_relax();
            else if (s->enqueue)
                while (kk_ring_sp_enqueue_bulk(kk, burst, s->size) == 0)
                    kk_cpu_relax();
            else if (s->multi)
                while (kk_ring_mc_dequeue_bulk(kk, burst, s->size) == 0)
                    kk_cpu_relax();
            else
                while (kk_ring_sc_dequeue_bulk(kk, burst, s->size) == 0)
                    kk_cpu_relax();
        }
    }
    s->cycles_per_elem = (double)(kk_rdtsc() - t0) / ((double)ITERATIONS * s->size);
    return NULL;
}

static double two_cores(enum impl impl, bool multi, unsigned size)
{
    struct side enq = {impl, multi, true, size, 0, 0};
    struct side deq = {impl, multi, false, size, 1, 0};
    ready = 0;
    pthread_t t;
    pthread_create(&t, NULL, pair_side, &deq);
    pair_side(&enq);
    pthread_join(t, NULL);
    return enq.cycles_per_elem + deq.cycles_per_elem;
}

static void *load_side(void *arg)
{
    struct side *s = arg;
    void *burst[32] = {0};
    pin(s->cpu);
    sync_start(2);
    uint64_t t0 = kk_rdtsc();
    for (unsigned i = 0; i < ITERATIONS; i++) {
        if (s->impl == DPDK) {
            rte_ring_mp_enqueue_bulk(dpdk_ring, burst, s->size, NULL);
            rte_ring_mc_dequeue_bulk(dpdk_ring, burst, s->size, NULL);
        } else {
            kk_ring_mp_enqueue_bulk(kk, burst, s->size);
            kk_ring_mc_dequeue_bulk(kk, burst, s->size);
        }
    }
    s->cycles_per_elem = (double)(kk_rdtsc() - t0) / ITERATIONS;
    return NULL;
}

static double all_cores(enum impl impl, unsigned size)
{
    struct side a = {impl, true, true, size, 0, 0};
    struct side b = {impl, true, true, size, 1, 0};
    ready = 0;
    pthread_t t;
    pthread_create(&t, NULL, load_side, &b);
    load_side(&a);
    pthread_join(t, NULL);
    return (a.cycles_per_elem + b.cycles_per_elem) / 2;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(void)
{
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
        fprintf(stderr, "ring_pair: needs two CPUs\n");
        return 1;
    }
    ssize_t sz = rte_ring_get_memsize(RING_SIZE);
    void *mem = aligned_alloc(KK_RING_ALIGN, (size_t)sz);
    dpdk_ring = mem;
    if (!mem || rte_ring_init(dpdk_ring, "pair", RING_SIZE, 0) < 0 ||
        kk_ring_create(RING_SIZE, 0, &kk) < 0) {
        fprintf(stderr, "ring_pair: cannot create rings\n");
        return 1;
    }
    static const unsigned sizes[] = {8, 32};
    for (int m = 0; m < 2; m++) {
        for (int si = 0; si < 2; si++) {
            double d[TRIALS], k[TRIALS];
            for (int t = 0; t < TRIALS; t++) {
                d[t] = two_cores(DPDK, m, sizes[si]);
                k[t] = two_cores(KVMKIT, m, sizes[si]);
            }
            printf("pair: two cores: %s bulk (size: %u): dpdk=%.2f kvmkit=%.2f\n",
                   m ? "MP/MC" : "SP/SC", sizes[si], median(d, TRIALS), median(k, TRIALS));
            fflush(stdout);
        }
    }
    for (int si = 0; si < 2; si++) {
        double d[TRIALS], k[TRIALS];
        for (int t = 0; t < TRIALS; t++) {
            d[t] = all_cores(DPDK, sizes[si]);
            k[t] = all_cores(KVMKIT, sizes[si]);
        }
        printf("pair: all cores: MP/MC bulk (size: %u): dpdk=%.2f kvmkit=%.2f\n", sizes[si],
               median(d, TRIALS), median(k, TRIALS));
    }
    kk_ring_destroy(kk);
    free(mem);
    return 0;
}
