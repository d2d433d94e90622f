/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>

#include "kk_ring.h"
#include "kk_test.h"

/* ---- negative cases first ---- */

static void test_create_rejects_bad_arguments(void **state)
{
    struct kk_ring *r = NULL;
    assert_int_equal(kk_ring_create(0, 0, &r), -EINVAL);
    assert_int_equal(kk_ring_create(KK_RING_MAX_CAPACITY + 1, 0, &r), -EINVAL);
    assert_int_equal(kk_ring_create(16, 0x80, &r), -EINVAL);
    assert_int_equal(kk_ring_create(16, 0, NULL), -EINVAL);
    assert_null(r);
    assert_int_equal(kk_ring_memsize(0), 0);
    assert_int_equal(kk_ring_memsize(KK_RING_MAX_CAPACITY + 1), 0);
    kk_ring_destroy(NULL);
}

static void test_init_rejects_misaligned_memory(void **state)
{
    size_t sz = kk_ring_memsize(8);
    char *mem = aligned_alloc(KK_RING_ALIGN, sz + KK_RING_ALIGN);
    assert_int_equal(kk_ring_init((struct kk_ring *)(void *)(mem + 8), 8, 0), -EINVAL);
    assert_int_equal(kk_ring_init((struct kk_ring *)(void *)(mem + KK_CACHE_LINE), 8, 0), -EINVAL);
    assert_int_equal(kk_ring_init((struct kk_ring *)(void *)mem, 8, 0), 0);
    struct kk_ring *r = (struct kk_ring *)(void *)mem;
    void *obj = (void *)0x1234, *out = NULL;
    assert_int_equal(kk_ring_enqueue(r, obj), 0);
    assert_int_equal(kk_ring_dequeue(r, &out), 0);
    assert_ptr_equal(out, obj);
    kk_ring_destroy(r); /* not allocated by create: must not free */
    free(mem);
}

static void test_empty_ring_gives_nothing(void **state)
{
    struct kk_ring *r;
    assert_int_equal(kk_ring_create(8, 0, &r), 0);
    void *objs[8];
    assert_int_equal(kk_ring_sc_dequeue_bulk(r, objs, 1), 0);
    assert_int_equal(kk_ring_mc_dequeue_burst(r, objs, 8), 0);
    assert_int_equal(kk_ring_dequeue(r, objs), -ENOENT);
    assert_true(kk_ring_empty(r));
    assert_false(kk_ring_full(r));
    kk_ring_destroy(r);
}

/* ---- one body, every API variant ---- */

struct variant {
    const char *name;
    uint32_t (*enq)(struct kk_ring *, void *const *, uint32_t);
    uint32_t (*deq)(struct kk_ring *, void **, uint32_t);
    bool bulk;
    unsigned flags;
};

static const struct variant variants[] = {
    {"sp/sc bulk", kk_ring_sp_enqueue_bulk, kk_ring_sc_dequeue_bulk, true, 0},
    {"mp/mc bulk", kk_ring_mp_enqueue_bulk, kk_ring_mc_dequeue_bulk, true, 0},
    {"sp/sc burst", kk_ring_sp_enqueue_burst, kk_ring_sc_dequeue_burst, false, 0},
    {"mp/mc burst", kk_ring_mp_enqueue_burst, kk_ring_mc_dequeue_burst, false, 0},
    {"default bulk (SP/SC flags)", kk_ring_enqueue_bulk, kk_ring_dequeue_bulk, true,
     KK_RING_F_SP_ENQ | KK_RING_F_SC_DEQ},
    {"default burst (MP/MC)", kk_ring_enqueue_burst, kk_ring_dequeue_burst, false, 0},
};

static void run_capacity_and_order(const struct variant *v, uint32_t capacity)
{
    struct kk_ring *r;
    assert_int_equal(kk_ring_create(capacity, v->flags, &r), 0);
    assert_int_equal(kk_ring_capacity(r), capacity);

    void *in[64], *out[64];
    for (uintptr_t i = 0; i < 64; i++)
        in[i] = (void *)(i + 1);

    /* Fill to exact capacity in chunks of 3. */
    uint32_t filled = 0;
    while (filled + 3 <= capacity) {
        assert_int_equal(v->enq(r, &in[filled % 61], 3), 3);
        filled += 3;
    }
    uint32_t left = capacity - filled;
    /* A request larger than the room: bulk moves none, burst moves what fits. */
    uint32_t n = v->enq(r, &in[0], left + 1);
    assert_int_equal(n, v->bulk ? 0 : left);
    if (v->bulk && left)
        assert_int_equal(v->enq(r, &in[0], left), left);
    assert_true(kk_ring_full(r));
    assert_int_equal(kk_ring_count(r), capacity);
    assert_int_equal(kk_ring_free_count(r), 0);
    assert_int_equal(v->enq(r, &in[0], 1), 0);

    /* Drain: bulk asking for more than present gets nothing. */
    assert_int_equal(v->deq(r, out, 1), 1);
    assert_ptr_equal(out[0], in[0]);
    uint32_t rest = capacity - 1;
    if (rest < 64) {
        n = v->deq(r, out, rest + 1);
        assert_int_equal(n, v->bulk ? 0 : rest);
        if (v->bulk)
            assert_int_equal(v->deq(r, out, rest), rest);
    } else {
        while (rest) {
            uint32_t k = rest < 32 ? rest : 32;
            assert_int_equal(v->deq(r, out, k), k);
            rest -= k;
        }
    }
    assert_true(kk_ring_empty(r));
    kk_ring_destroy(r);
}

static void test_variants_capacity_edges(void **state)
{
    static const uint32_t capacities[] = {1, 2, 5, 7, 8, 31, 64, 1000};
    for (size_t i = 0; i < KK_ARRAY_SIZE(variants); i++) {
        for (size_t c = 0; c < KK_ARRAY_SIZE(capacities); c++)
            run_capacity_and_order(&variants[i], capacities[c]);
    }
}

/* FIFO order through many wraparounds of the slot array, with random sizes,
 * compared against a naive reference queue. */
static void test_variants_fifo_against_reference(void **state)
{
    for (size_t vi = 0; vi < KK_ARRAY_SIZE(variants); vi++) {
        const struct variant *v = &variants[vi];
        struct kk_ring *r;
        assert_int_equal(kk_ring_create(50, v->flags, &r), 0);
        uintptr_t ref[64];
        uint32_t ref_head = 0, ref_len = 0;
        uintptr_t next = 1;
        uint64_t rng = 0x1234567 + vi;
        for (int iter = 0; iter < 20000; iter++) {
            void *buf[40];
            uint32_t n = (uint32_t)(kk_test_rand(&rng) % 40) + 1;
            if (kk_test_rand(&rng) & 1) {
                for (uint32_t i = 0; i < n; i++)
                    buf[i] = (void *)(next + i);
                uint32_t room = 50 - ref_len;
                uint32_t expect = n <= room ? n : (v->bulk ? 0 : room);
                assert_int_equal(v->enq(r, buf, n), expect);
                for (uint32_t i = 0; i < expect; i++)
                    ref[(ref_head + ref_len + i) % 64] = next + i;
                ref_len += expect;
                next += expect;
            } else {
                uint32_t expect = n <= ref_len ? n : (v->bulk ? 0 : ref_len);
                assert_int_equal(v->deq(r, buf, n), expect);
                for (uint32_t i = 0; i < expect; i++) {
                    assert_ptr_equal(buf[i], (void *)ref[ref_head % 64]);
                    ref_head++;
                }
                ref_len -= expect;
            }
            assert_int_equal(kk_ring_count(r), ref_len);
        }
        kk_ring_destroy(r);
    }
}

/* The 32-bit indexes overflow: nothing may break at the wrap. */
static void test_index_counter_wraparound(void **state)
{
    struct kk_ring *r;
    assert_int_equal(kk_ring_create(16, 0, &r), 0);
    uint32_t start = UINT32_MAX - 20;
    r->prod.head = r->prod.tail = r->cons.head = r->cons.tail = start;
    r->prod.other_tail = r->cons.other_tail = start;
    uintptr_t next_in = 1, next_out = 1;
    for (int i = 0; i < 100; i++) {
        void *buf[7];
        for (int k = 0; k < 7; k++)
            buf[k] = (void *)(next_in + (uintptr_t)k);
        assert_int_equal(kk_ring_mp_enqueue_bulk(r, buf, 7), 7);
        next_in += 7;
        assert_int_equal(kk_ring_count(r), 7);
        assert_int_equal(kk_ring_mc_dequeue_bulk(r, buf, 7), 7);
        for (int k = 0; k < 7; k++)
            assert_ptr_equal(buf[k], (void *)(next_out++));
    }
    assert_true(r->prod.tail < start); /* really wrapped */
    kk_ring_destroy(r);
}

static void test_single_object_calls(void **state)
{
    struct kk_ring *r;
    assert_int_equal(kk_ring_create(2, 0, &r), 0);
    void *o;
    assert_int_equal(kk_ring_sp_enqueue(r, (void *)1), 0);
    assert_int_equal(kk_ring_mp_enqueue(r, (void *)2), 0);
    assert_int_equal(kk_ring_enqueue(r, (void *)3), -ENOBUFS);
    assert_int_equal(kk_ring_sc_dequeue(r, &o), 0);
    assert_ptr_equal(o, (void *)1);
    assert_int_equal(kk_ring_mc_dequeue(r, &o), 0);
    assert_ptr_equal(o, (void *)2);
    assert_int_equal(kk_ring_dequeue(r, &o), -ENOENT);
    kk_ring_reset(r);
    assert_true(kk_ring_empty(r));
    kk_ring_destroy(r);
}

/* ---- multi-threaded stress ---- */

#define STRESS_PER_PRODUCER 400000u
#define MAX_THREADS 4

struct stress {
    struct kk_ring *r;
    bool bulk;
    unsigned producers, consumers;
    uint32_t *seen;            /* per element: times consumed */
    unsigned done_producers;   /* atomic */
    uint64_t consumed;         /* atomic */
    bool order_ok;
};

struct worker {
    struct stress *s;
    unsigned id;
    uint64_t rng;
};

/* Spin briefly, then yield: with more threads than CPUs, pure spinning
 * would starve the thread everybody waits for. */
static void backoff(unsigned *spins)
{
    if (++*spins % 64 == 0)
        sched_yield();
    else
        kk_cpu_relax();
}

static void *producer(void *arg)
{
    struct worker *w = arg;
    struct stress *s = w->s;
    unsigned spins = 0;
    uint32_t seq = 0;
    while (seq < STRESS_PER_PRODUCER) {
        void *buf[32];
        uint32_t n = (uint32_t)(kk_test_rand(&w->rng) % 32) + 1;
        if (n > STRESS_PER_PRODUCER - seq)
            n = STRESS_PER_PRODUCER - seq;
        for (uint32_t i = 0; i < n; i++)
            buf[i] = (void *)(uintptr_t)(((uint64_t)w->id << 32) | (seq + i + 1));
        uint32_t done = 0;
        while (done < n) {
            uint32_t k;
            if (s->producers == 1)
                k = s->bulk ? kk_ring_sp_enqueue_bulk(s->r, buf + done, n - done)
                            : kk_ring_sp_enqueue_burst(s->r, buf + done, n - done);
            else
                k = s->bulk ? kk_ring_mp_enqueue_bulk(s->r, buf + done, n - done)
                            : kk_ring_mp_enqueue_burst(s->r, buf + done, n - done);
            if (k == 0)
                backoff(&spins);
            done += k;
        }
        seq += n;
    }
    __atomic_add_fetch(&s->done_producers, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void *consumer(void *arg)
{
    struct worker *w = arg;
    struct stress *s = w->s;
    unsigned spins = 0;
    uint32_t last[MAX_THREADS] = {0};
    for (;;) {
        void *buf[32];
        uint32_t n = (uint32_t)(kk_test_rand(&w->rng) % 32) + 1;
        uint32_t k;
        if (s->consumers == 1)
            k = s->bulk ? kk_ring_sc_dequeue_bulk(s->r, buf, n) : kk_ring_sc_dequeue_burst(s->r, buf, n);
        else
            k = s->bulk ? kk_ring_mc_dequeue_bulk(s->r, buf, n) : kk_ring_mc_dequeue_burst(s->r, buf, n);
        if (k == 0) {
            if (__atomic_load_n(&s->done_producers, __ATOMIC_ACQUIRE) == s->producers &&
                kk_ring_empty(s->r))
                break;
            if (s->bulk && __atomic_load_n(&s->done_producers, __ATOMIC_ACQUIRE) == s->producers) {
                /* Bulk may wait forever for a tail shorter than n. */
                k = s->consumers == 1 ? kk_ring_sc_dequeue_burst(s->r, buf, n)
                                      : kk_ring_mc_dequeue_burst(s->r, buf, n);
            }
            if (k == 0) {
                backoff(&spins);
                continue;
            }
        }
        for (uint32_t i = 0; i < k; i++) {
            uint64_t v = (uint64_t)(uintptr_t)buf[i];
            uint32_t p = (uint32_t)(v >> 32), seq = (uint32_t)v;
            if (p >= s->producers || seq == 0 || seq > STRESS_PER_PRODUCER) {
                s->order_ok = false;
                continue;
            }
            /* Each producer's elements reach any one consumer in order. */
            if (seq <= last[p])
                s->order_ok = false;
            last[p] = seq;
            __atomic_add_fetch(&s->seen[(size_t)p * STRESS_PER_PRODUCER + seq - 1], 1,
                               __ATOMIC_RELAXED);
        }
        __atomic_add_fetch(&s->consumed, k, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void run_stress(unsigned producers, unsigned consumers, bool bulk, uint32_t capacity)
{
    struct stress s = {.producers = producers, .consumers = consumers, .bulk = bulk,
                       .order_ok = true};
    assert_int_equal(kk_ring_create(capacity, 0, &s.r), 0);
    s.seen = calloc((size_t)producers * STRESS_PER_PRODUCER, sizeof(uint32_t));
    assert_non_null(s.seen);
    pthread_t threads[2 * MAX_THREADS];
    struct worker workers[2 * MAX_THREADS];
    unsigned nt = 0;
    for (unsigned i = 0; i < consumers; i++, nt++) {
        workers[nt] = (struct worker){.s = &s, .id = i, .rng = 0xabc + nt};
        assert_int_equal(pthread_create(&threads[nt], NULL, consumer, &workers[nt]), 0);
    }
    for (unsigned i = 0; i < producers; i++, nt++) {
        workers[nt] = (struct worker){.s = &s, .id = i, .rng = 0xdef + nt};
        assert_int_equal(pthread_create(&threads[nt], NULL, producer, &workers[nt]), 0);
    }
    for (unsigned i = 0; i < nt; i++)
        pthread_join(threads[i], NULL);

    assert_true(s.order_ok);
    assert_int_equal(s.consumed, (uint64_t)producers * STRESS_PER_PRODUCER);
    for (size_t i = 0; i < (size_t)producers * STRESS_PER_PRODUCER; i++) {
        if (s.seen[i] != 1)
            fail_msg("element %zu of producer %zu consumed %u times", i % STRESS_PER_PRODUCER,
                     i / STRESS_PER_PRODUCER, s.seen[i]);
    }
    assert_true(kk_ring_empty(s.r));
    free(s.seen);
    kk_ring_destroy(s.r);
}

static void test_stress_spsc_burst(void **state) { run_stress(1, 1, false, 64); }
static void test_stress_spsc_bulk(void **state) { run_stress(1, 1, true, 100); }
static void test_stress_mpmc_burst(void **state) { run_stress(3, 3, false, 64); }
static void test_stress_mpmc_bulk(void **state) { run_stress(2, 2, true, 128); }
static void test_stress_mpsc_tiny_ring(void **state) { run_stress(3, 1, false, 4); }
/* Large ring: the sides mostly work from their copies of the other tail. */
static void test_stress_mpmc_large_ring(void **state) { run_stress(2, 2, false, 4096); }
static void test_stress_spmc_bulk_large_ring(void **state) { run_stress(1, 2, true, 4096); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_rejects_bad_arguments),
        cmocka_unit_test(test_init_rejects_misaligned_memory),
        cmocka_unit_test(test_empty_ring_gives_nothing),
        cmocka_unit_test(test_variants_capacity_edges),
        cmocka_unit_test(test_variants_fifo_against_reference),
        cmocka_unit_test(test_index_counter_wraparound),
        cmocka_unit_test(test_single_object_calls),
        cmocka_unit_test(test_stress_spsc_burst),
        cmocka_unit_test(test_stress_spsc_bulk),
        cmocka_unit_test(test_stress_mpmc_burst),
        cmocka_unit_test(test_stress_mpmc_bulk),
        cmocka_unit_test(test_stress_mpsc_tiny_ring),
        cmocka_unit_test(test_stress_mpmc_large_ring),
        cmocka_unit_test(test_stress_spmc_bulk_large_ring),
    };
    return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
