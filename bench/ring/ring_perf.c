/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ring performance, measured the way DPDK's ring_perf_autotest measures
 * rte_ring, so that bench/ring/run.sh can put the two side by side:
 *
 *   single      one enqueue + one dequeue, cycles per pair
 *   burst/bulk  enqueue n + dequeue n on one core, cycles per round
 *   empty       bulk dequeue of 8 from an empty ring, cycles per call
 *   two cores   one core enqueues, the other dequeues (bulk, n = 8/32):
 *               cycles per element on each side, summed
 *   all cores   every core enqueues and dequeues n (MP/MC bulk) for
 *               100 ms: rounds completed (higher is better)
 *
 * Cycles come from the TSC. Output: one line per case,
 *   "kvmkit: <case>: <value>"
 * matching the names run.sh gives DPDK's lines.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kk_reactor.h"
#include "kk_ring.h"

#define RING_SIZE 4096
#define MAX_BURST 32

static const volatile unsigned bulk_sizes[] = {8, 32};
static struct kk_ring *ring;

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

typedef uint32_t (*enq_fn)(struct kk_ring *, void *const *, uint32_t);
typedef uint32_t (*deq_fn)(struct kk_ring *, void **, uint32_t);

/* Separate functions per mode, so every call is inlined with its mode
 * known at compile time, as with DPDK's rte_ring_sp_enqueue_bulk() etc. */
#define DEFINE_SINGLE(name, enq, deq)                                        \
    static __attribute__((noinline)) double name(void)                       \
    {                                                                         \
        const unsigned iterations = 1u << 24;                                 \
        void *obj = calloc(1, 8);                                             \
        uint64_t start = kk_rdtsc();                                          \
        for (unsigned i = 0; i < iterations; i++) {                           \
            enq(ring, obj);                                                   \
            deq(ring, &obj);                                                  \
        }                                                                     \
        uint64_t end = kk_rdtsc();                                            \
        free(obj);                                                            \
        return (double)(end - start) / iterations;                            \
    }

DEFINE_SINGLE(single_spsc, kk_ring_sp_enqueue, kk_ring_sc_dequeue)
DEFINE_SINGLE(single_mpmc, kk_ring_mp_enqueue, kk_ring_mc_dequeue)

#define DEFINE_ROUNDS(name, enq, deq)                                         \
    static __attribute__((noinline)) double name(unsigned n)                  \
    {                                                                         \
        const unsigned iterations = 1u << 23;                                 \
        void **burst = calloc(MAX_BURST, sizeof(void *));                     \
        uint64_t start = kk_rdtsc();                                          \
        for (unsigned i = 0; i < iterations; i++) {                           \
            enq(ring, burst, n);                                              \
            deq(ring, burst, n);                                              \
        }                                                                     \
        uint64_t end = kk_rdtsc();                                            \
        free(burst);                                                          \
        return (double)(end - start) / iterations;                            \
    }

DEFINE_ROUNDS(burst_spsc, kk_ring_sp_enqueue_burst, kk_ring_sc_dequeue_burst)
DEFINE_ROUNDS(burst_mpmc, kk_ring_mp_enqueue_burst, kk_ring_mc_dequeue_burst)
DEFINE_ROUNDS(bulk_spsc, kk_ring_sp_enqueue_bulk, kk_ring_sc_dequeue_bulk)
DEFINE_ROUNDS(bulk_mpmc, kk_ring_mp_enqueue_bulk, kk_ring_mc_dequeue_bulk)

#define DEFINE_EMPTY(name, deq)                                               \
    static __attribute__((noinline)) double name(void)                        \
    {                                                                         \
        const unsigned iterations = 1u << 26;                                 \
        void *burst[MAX_BURST];                                               \
        uint64_t start = kk_rdtsc();                                          \
        for (unsigned i = 0; i < iterations; i++)                             \
            deq(ring, burst, bulk_sizes[0]);                                  \
        uint64_t end = kk_rdtsc();                                            \
        return (double)(end - start) / iterations;                            \
    }

DEFINE_EMPTY(empty_sc, kk_ring_sc_dequeue_bulk)
DEFINE_EMPTY(empty_mc, kk_ring_mc_dequeue_bulk)

/* ---- two cores ---- */

struct pair_params {
    unsigned size;
    int cpu;
    bool enqueue;
    double spsc, mpmc;
};

static volatile unsigned pair_ready;

static void *pair_thread(void *arg)
{
    struct pair_params *p = arg;
    const unsigned iterations = 1u << 15;
    void **burst = calloc(MAX_BURST, sizeof(void *));
    pin(p->cpu);
    if (__atomic_add_fetch(&pair_ready, 1, __ATOMIC_SEQ_CST) != 2)
        while (__atomic_load_n(&pair_ready, __ATOMIC_SEQ_CST) != 2)
            kk_cpu_relax();

    uint64_t t0 = kk_rdtsc();
    for (unsigned i = 0; i < iterations; i++) {
        if (p->enqueue)
            while (kk_ring_sp_enqueue_bulk(ring, burst, p->size) == 0)
                kk_cpu_relax();
        else
            while (kk_ring_sc_dequeue_bulk(ring, burst, p->size) == 0)
                kk_cpu_relax();
    }
    uint64_t t1 = kk_rdtsc();
    for (unsigned i = 0; i < iterations; i++) {
        if (p->enqueue)
            while (kk_ring_mp_enqueue_bulk(ring, burst, p->size) == 0)
                kk_cpu_relax();
        else
            while (kk_ring_mc_dequeue_bulk(ring, burst, p->size) == 0)
                kk_cpu_relax();
    }
    uint64_t t2 = kk_rdtsc();
    p->spsc = (double)(t1 - t0) / ((double)iterations * p->size);
    p->mpmc = (double)(t2 - t1) / ((double)iterations * p->size);
    free(burst);
    return NULL;
}

static void run_two_cores(int ncpu)
{
    if (ncpu < 2)
        return;
    for (unsigned i = 0; i < 2; i++) {
        struct pair_params enq = {.size = bulk_sizes[i], .cpu = 0, .enqueue = true};
        struct pair_params deq = {.size = bulk_sizes[i], .cpu = 1, .enqueue = false};
        pair_ready = 0;
        pthread_t t;
        pthread_create(&t, NULL, pair_thread, &deq);
        pair_thread(&enq);
        pthread_join(t, NULL);
        printf("kvmkit: two cores: SP/SC bulk (size: %u): %.2f\n", bulk_sizes[i],
               enq.spsc + deq.spsc);
        printf("kvmkit: two cores: MP/MC bulk (size: %u): %.2f\n", bulk_sizes[i],
               enq.mpmc + deq.mpmc);
    }
}

/* ---- all cores ---- */

struct load_params {
    unsigned size;
    int cpu;
    uint64_t count;
};

static volatile unsigned load_go;

static void *load_thread(void *arg)
{
    struct load_params *p = arg;
    void **burst = calloc(MAX_BURST, sizeof(void *));
    pin(p->cpu);
    while (!__atomic_load_n(&load_go, __ATOMIC_ACQUIRE))
        kk_cpu_relax();
    uint64_t begin = kk_now_us(), n = 0;
    while (kk_now_us() - begin < 100000) {
        kk_ring_mp_enqueue_bulk(ring, burst, p->size);
        kk_ring_mc_dequeue_bulk(ring, burst, p->size);
        n++;
    }
    p->count = n;
    free(burst);
    return NULL;
}

static void run_all_cores(int ncpu)
{
    for (unsigned i = 0; i < 2; i++) {
        struct load_params params[64];
        pthread_t t[64];
        int n = ncpu < 64 ? ncpu : 64;
        load_go = 0;
        for (int c = 0; c < n; c++) {
            params[c] = (struct load_params){.size = bulk_sizes[i], .cpu = c};
            pthread_create(&t[c], NULL, load_thread, &params[c]);
        }
        usleep(10000);
        __atomic_store_n(&load_go, 1, __ATOMIC_RELEASE);
        uint64_t total = 0;
        for (int c = 0; c < n; c++) {
            pthread_join(t[c], NULL);
            total += params[c].count;
        }
        printf("kvmkit: all cores: MP/MC bulk count (size: %u): %llu\n", bulk_sizes[i],
               (unsigned long long)total);
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    pin(0);
    if (kk_ring_create(RING_SIZE, 0, &ring) < 0) {
        fprintf(stderr, "ring_perf: cannot create ring\n");
        return 1;
    }
    printf("kvmkit: single: SP/SC: %.2f\n", single_spsc());
    printf("kvmkit: single: MP/MC: %.2f\n", single_mpmc());
    for (unsigned i = 0; i < 2; i++)
        printf("kvmkit: burst: SP/SC (size: %u): %.2f\n", bulk_sizes[i], burst_spsc(bulk_sizes[i]));
    for (unsigned i = 0; i < 2; i++)
        printf("kvmkit: burst: MP/MC (size: %u): %.2f\n", bulk_sizes[i], burst_mpmc(bulk_sizes[i]));
    for (unsigned i = 0; i < 2; i++)
        printf("kvmkit: bulk: SP/SC (size: %u): %.2f\n", bulk_sizes[i], bulk_spsc(bulk_sizes[i]));
    for (unsigned i = 0; i < 2; i++)
        printf("kvmkit: bulk: MP/MC (size: %u): %.2f\n", bulk_sizes[i], bulk_mpmc(bulk_sizes[i]));
    printf("kvmkit: empty: SP/SC bulk (size: 8): %.2f\n", empty_sc());
    printf("kvmkit: empty: MP/MC bulk (size: 8): %.2f\n", empty_mc());
    fflush(stdout);
    run_two_cores(ncpu);
    run_all_cores(ncpu);
    kk_ring_destroy(ring);
    return 0;
}
