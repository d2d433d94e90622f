/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kk_rcu: no-ops on unregistered threads first, then grace periods that
 * must wait (an online reader that has not reported) and must not (offline
 * readers, sleeping reactors), callback order, and a stress test where
 * reader threads and reactor pollers dereference an object that a writer
 * keeps replacing: every object is poisoned before it is freed, so a reader
 * that could still see a freed one fails the check (and ASan reports the
 * use after free).
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "kk_rcu.h"
#include "kk_reactor.h"
#include "kk_test.h"

#define LIVE 0x4c495645u
#define DEAD 0xdeaddeadu

struct obj {
    uint32_t magic;
    uint64_t value;
    uint32_t magic2;
};

static void test_unregistered_thread_no_ops(void **state)
{
    assert_false(kk_rcu_thread_registered());
    kk_rcu_quiescent();
    kk_rcu_thread_offline();
    kk_rcu_thread_online();
    assert_false(kk_rcu_thread_online_now());
    kk_rcu_unregister_thread();
    assert_false(kk_rcu_thread_registered());
    /* No readers: a grace period is immediate. */
    struct kk_rcu_stats a, b;
    kk_rcu_get_stats(&a);
    kk_rcu_synchronize();
    kk_rcu_get_stats(&b);
    assert_true(b.epoch == a.epoch + 1);
    assert_true(b.grace_periods == a.grace_periods + 1);
}

static void test_registration_nests(void **state)
{
    struct kk_rcu_stats s0, s;
    kk_rcu_get_stats(&s0);
    assert_int_equal(kk_rcu_register_thread(), 0);
    assert_int_equal(kk_rcu_register_thread(), 0);
    assert_true(kk_rcu_thread_online_now());
    kk_rcu_get_stats(&s);
    assert_int_equal(s.threads, s0.threads + 1);
    assert_int_equal(s.threads_online, s0.threads_online + 1);
    kk_rcu_thread_offline();
    assert_false(kk_rcu_thread_online_now());
    kk_rcu_quiescent(); /* stays offline */
    assert_false(kk_rcu_thread_online_now());
    kk_rcu_thread_online();
    /* A registered, online caller of synchronize must not wait for itself. */
    kk_rcu_synchronize();
    assert_true(kk_rcu_thread_online_now());
    kk_rcu_unregister_thread();
    assert_true(kk_rcu_thread_registered());
    kk_rcu_unregister_thread();
    assert_false(kk_rcu_thread_registered());
    kk_rcu_get_stats(&s);
    assert_int_equal(s.threads, s0.threads);
}

/* ---- a grace period waits for an online reader ---- */

struct holder {
    int registered, release, done;
};

static void *hold_then_report(void *arg)
{
    struct holder *h = arg;
    assert_int_equal(kk_rcu_register_thread(), 0);
    __atomic_store_n(&h->registered, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&h->release, __ATOMIC_SEQ_CST))
        usleep(100);
    kk_rcu_quiescent();
    while (!__atomic_load_n(&h->done, __ATOMIC_SEQ_CST))
        usleep(100);
    kk_rcu_unregister_thread();
    return NULL;
}

static void *release_later(void *arg)
{
    struct holder *h = arg;
    usleep(50 * 1000);
    __atomic_store_n(&h->release, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void test_synchronize_waits_for_online_reader(void **state)
{
    struct holder h = {0};
    pthread_t reader, releaser;
    assert_int_equal(pthread_create(&reader, NULL, hold_then_report, &h), 0);
    while (!__atomic_load_n(&h.registered, __ATOMIC_SEQ_CST))
        usleep(100);
    assert_int_equal(pthread_create(&releaser, NULL, release_later, &h), 0);
    kk_rcu_synchronize();
    /* The reader reported only after being released. */
    assert_int_equal(__atomic_load_n(&h.release, __ATOMIC_SEQ_CST), 1);
    __atomic_store_n(&h.done, 1, __ATOMIC_SEQ_CST);
    pthread_join(releaser, NULL);
    pthread_join(reader, NULL);
}

static void *offline_reader(void *arg)
{
    struct holder *h = arg;
    assert_int_equal(kk_rcu_register_thread(), 0);
    kk_rcu_thread_offline();
    __atomic_store_n(&h->registered, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&h->done, __ATOMIC_SEQ_CST))
        usleep(100);
    kk_rcu_thread_online();
    kk_rcu_unregister_thread();
    return NULL;
}

static void test_offline_reader_does_not_block(void **state)
{
    struct holder h = {0};
    pthread_t reader;
    assert_int_equal(pthread_create(&reader, NULL, offline_reader, &h), 0);
    while (!__atomic_load_n(&h.registered, __ATOMIC_SEQ_CST))
        usleep(100);
    for (int i = 0; i < 10; i++)
        kk_rcu_synchronize();
    __atomic_store_n(&h.done, 1, __ATOMIC_SEQ_CST);
    pthread_join(reader, NULL);
}

/* ---- callbacks ---- */

struct order {
    int seen[64];
    int n;
    int chained;
};

static struct order order;

static void record(void *arg)
{
    order.seen[order.n++] = (int)(intptr_t)arg;
}

static void chain(void *arg)
{
    order.chained = 1;
    kk_rcu_call(record, arg);
}

static void test_callbacks_run_in_order_after_barrier(void **state)
{
    memset(&order, 0, sizeof(order));
    for (int i = 0; i < 20; i++)
        kk_rcu_call(record, (void *)(intptr_t)i);
    kk_rcu_call(chain, (void *)(intptr_t)99);
    kk_rcu_barrier();
    assert_int_equal(order.chained, 1);
    kk_rcu_barrier();
    assert_int_equal(order.n, 21);
    for (int i = 0; i < 20; i++)
        assert_int_equal(order.seen[i], i);
    assert_int_equal(order.seen[20], 99);
    struct kk_rcu_stats s;
    kk_rcu_get_stats(&s);
    assert_true(s.callbacks_run >= 22);
    assert_int_equal(s.callbacks_pending, 0);
}

/* ---- stress: readers never see a freed object ---- */

static struct obj *shared;
static int stop_readers;
static uint64_t reads;

static void retire(void *arg)
{
    struct obj *o = arg;
    assert_int_equal(o->magic, LIVE);
    o->magic = o->magic2 = DEAD;
    free(o);
}

static struct obj *make_obj(uint64_t v)
{
    struct obj *o = malloc(sizeof(*o));
    assert_non_null(o);
    o->magic = o->magic2 = LIVE;
    o->value = v;
    return o;
}

/* Read the current object a few times, as a lookup would. */
static void read_shared(void)
{
    struct obj *o = kk_rcu_get(&shared);
    uint64_t v = o->value;
    for (int k = 0; k < 8; k++) {
        if (o->magic != LIVE || o->magic2 != LIVE || o->value != v)
            abort();
        kk_cpu_relax();
    }
    __atomic_fetch_add(&reads, 1, __ATOMIC_RELAXED);
}

static void *reader_thread(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    assert_int_equal(kk_rcu_register_thread(), 0);
    uint64_t i = 0;
    while (!__atomic_load_n(&stop_readers, __ATOMIC_ACQUIRE)) {
        read_shared();
        kk_rcu_quiescent();
        /* Some readers nap offline now and then. */
        if (id % 2 && ++i % 64 == 0) {
            kk_rcu_thread_offline();
            usleep(50);
            kk_rcu_thread_online();
        }
    }
    kk_rcu_unregister_thread();
    return NULL;
}

static int poll_shared(void *arg)
{
    (void)arg;
    read_shared();
    return 1;
}

static void test_readers_never_see_freed_objects(void **state)
{
    enum { READERS = 3, UPDATES = 3000 };
    kk_rcu_set(&shared, make_obj(0));
    __atomic_store_n(&stop_readers, 0, __ATOMIC_RELEASE);
    reads = 0;
    pthread_t th[READERS];
    for (uintptr_t i = 0; i < READERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader_thread, (void *)i), 0);
    /* And a busy reactor whose poller reads it every turn. */
    struct kk_reactor_opts o;
    kk_reactor_opts_init(&o);
    o.name = "rcu-busy";
    o.mode = KK_REACTOR_BUSY_POLL;
    struct kk_reactor *r;
    assert_int_equal(kk_reactor_create(&o, &r), 0);
    struct kk_poller *p;
    assert_int_equal(kk_poller_register(r, poll_shared, NULL, 0, &p), 0);
    assert_int_equal(kk_reactor_spawn(r, -1), 0);

    for (uint64_t v = 1; v <= UPDATES; v++) {
        struct obj *old = shared;
        kk_rcu_set(&shared, make_obj(v));
        if (v % 100 == 0) {
            kk_rcu_synchronize();
            retire(old);
        } else {
            kk_rcu_call(retire, old);
        }
        if (v % 16 == 0)
            usleep(20);
    }
    kk_rcu_barrier();
    __atomic_store_n(&stop_readers, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < READERS; i++)
        pthread_join(th[i], NULL);
    kk_reactor_destroy(r);
    printf("# %llu reads over %d replacements\n", (unsigned long long)reads, UPDATES);
    assert_true(reads > 0);
    retire(shared);
    shared = NULL;
}

/* ---- idle reactors sleep offline ---- */

static int no_work(void *arg)
{
    (void)arg;
    return 0;
}

static bool arm_ok(void *arg, bool enable)
{
    (void)arg;
    (void)enable;
    return false;
}

static void test_sleeping_reactors_do_not_stall_reclamation(void **state)
{
    struct kk_reactor *r[2];
    for (int i = 0; i < 2; i++) {
        struct kk_reactor_opts o;
        kk_reactor_opts_init(&o);
        o.name = "rcu-idle";
        o.idle_us = 10;
        assert_int_equal(kk_reactor_create(&o, &r[i]), 0);
        struct kk_poller *p;
        assert_int_equal(kk_poller_register(r[i], no_work, NULL, 0, &p), 0);
        kk_poller_set_arm(p, arm_ok);
        assert_int_equal(kk_reactor_spawn(r[i], -1), 0);
    }
    /* Wait until both are asleep in epoll. */
    for (int i = 0; i < 2; i++) {
        struct kk_reactor_stats st;
        for (int k = 0; k < 2000; k++) {
            kk_reactor_get_stats(r[i], &st);
            if (st.sleeps > 0)
                break;
            usleep(1000);
        }
        assert_true(st.sleeps > 0);
    }
    struct kk_rcu_stats s;
    kk_rcu_get_stats(&s);
    assert_true(s.threads >= 2);
    /* Many grace periods, each quick although the reactors never turn. */
    uint64_t t0 = kk_now_us();
    for (int i = 0; i < 50; i++) {
        kk_rcu_call(free, malloc(16));
        kk_rcu_barrier();
    }
    uint64_t took = kk_now_us() - t0;
    printf("# 50 grace periods with 2 sleeping reactors: %llu us\n", (unsigned long long)took);
    assert_true(took < 5 * 1000 * 1000);
    for (int i = 0; i < 2; i++)
        kk_reactor_destroy(r[i]);
    kk_rcu_get_stats(&s);
    assert_int_equal(s.callbacks_pending, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unregistered_thread_no_ops),
        cmocka_unit_test(test_registration_nests),
        cmocka_unit_test(test_synchronize_waits_for_online_reader),
        cmocka_unit_test(test_offline_reader_does_not_block),
        cmocka_unit_test(test_callbacks_run_in_order_after_barrier),
        cmocka_unit_test(test_readers_never_see_freed_objects),
        cmocka_unit_test(test_sleeping_reactors_do_not_stall_reclamation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
