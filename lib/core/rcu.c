/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Quiescent-state based reclamation: see kk_rcu.h for the contract.
 *
 * Memory ordering in short. A writer unpublishes (release store), then
 * increments the epoch (sequentially consistent read-modify-write), then
 * reads each reader's `seen`. A reader's quiescent state loads the epoch
 * with acquire (so its later loads see the unpublish) and stores `seen` with
 * release (so its earlier loads are done before the writer sees it). Going
 * online is a store followed by a full fence, because there the reader's
 * later loads must not pass its own store (store->load ordering).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "kk_common.h"
#include "kk_log.h"
#include "kk_rcu.h"

KK_LOG_COMPONENT(rcu_log, "rcu");

/* The epoch has a cache line to itself: every reader reads it every turn,
 * only writers write it. */
uint64_t kk_rcu__epoch KK_CACHE_ALIGNED = 1;
__thread struct kk_rcu_thread *kk_rcu__self;

struct rcu_thread {
    struct kk_rcu_thread pub; /* first: kk_rcu__self points here */
    uint32_t nest;
    struct rcu_thread *prev, *next;
} KK_CACHE_ALIGNED;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rcu_thread *threads;
static uint32_t n_threads;
static uint64_t grace_periods;

/* ---- readers ------------------------------------------------------------ */

int kk_rcu_register_thread(void)
{
    struct rcu_thread *t = (struct rcu_thread *)kk_rcu__self;
    if (t) {
        t->nest++;
        return 0;
    }
    t = aligned_alloc(KK_CACHE_LINE, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->nest = 1;
    t->prev = NULL;
    pthread_mutex_lock(&registry_lock);
    __atomic_store_n(&t->pub.seen, __atomic_load_n(&kk_rcu__epoch, __ATOMIC_SEQ_CST),
                     __ATOMIC_SEQ_CST);
    t->next = threads;
    if (threads)
        threads->prev = t;
    threads = t;
    n_threads++;
    pthread_mutex_unlock(&registry_lock);
    kk_rcu__self = &t->pub;
    return 0;
}

void kk_rcu_unregister_thread(void)
{
    struct rcu_thread *t = (struct rcu_thread *)kk_rcu__self;
    if (!t || --t->nest > 0)
        return;
    /* Offline first, so that a synchronize() in progress need not wait for
     * this thread. */
    kk_rcu_thread_offline();
    pthread_mutex_lock(&registry_lock);
    if (t->prev)
        t->prev->next = t->next;
    else
        threads = t->next;
    if (t->next)
        t->next->prev = t->prev;
    n_threads--;
    pthread_mutex_unlock(&registry_lock);
    kk_rcu__self = NULL;
    free(t);
}

bool kk_rcu_thread_registered(void)
{
    return kk_rcu__self != NULL;
}

void kk_rcu_thread_offline(void)
{
    struct kk_rcu_thread *t = kk_rcu__self;
    if (t)
        __atomic_store_n(&t->seen, 0, __ATOMIC_RELEASE);
}

void kk_rcu_thread_online(void)
{
    struct kk_rcu_thread *t = kk_rcu__self;
    if (!t)
        return;
    __atomic_store_n(&t->seen, __atomic_load_n(&kk_rcu__epoch, __ATOMIC_SEQ_CST),
                     __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

bool kk_rcu_thread_online_now(void)
{
    struct kk_rcu_thread *t = kk_rcu__self;
    return t && __atomic_load_n(&t->seen, __ATOMIC_RELAXED) != 0;
}

/* ---- grace periods ------------------------------------------------------ */

/* Spin a little, then yield, then sleep with a growing period (up to 1 ms):
 * a grace period normally ends within one reactor turn of each reader. */
static void backoff(unsigned *round)
{
    unsigned n = (*round)++;
    if (n < 64) {
        kk_cpu_relax();
    } else if (n < 128) {
        sched_yield();
    } else {
        unsigned us = n - 128 < 10 ? 1u << (n - 128) : 1000u;
        struct timespec ts = {0, (long)KK_MIN(us, 1000u) * 1000};
        nanosleep(&ts, NULL);
    }
}

void kk_rcu_synchronize(void)
{
    bool was_online = kk_rcu_thread_online_now();
    if (was_online)
        kk_rcu_thread_offline();
    pthread_mutex_lock(&registry_lock);
    uint64_t target = __atomic_add_fetch(&kk_rcu__epoch, 1, __ATOMIC_SEQ_CST);
    unsigned round = 0;
    for (struct rcu_thread *t = threads; t;) {
        uint64_t seen = __atomic_load_n(&t->pub.seen, __ATOMIC_ACQUIRE);
        if (seen == 0 || seen >= target) {
            t = t->next;
            continue;
        }
        /* Wait without the lock, so that threads can register (a reactor
         * starting) and unregister meanwhile, however slow this reader is.
         * The list may have changed: scan it again. A thread past the
         * target stays past (offline, or online at a newer epoch), and one
         * registering now starts at the current epoch. */
        pthread_mutex_unlock(&registry_lock);
        backoff(&round);
        pthread_mutex_lock(&registry_lock);
        t = threads;
    }
    grace_periods++;
    pthread_mutex_unlock(&registry_lock);
    if (was_online)
        kk_rcu_thread_online();
}

/* ---- deferred callbacks ------------------------------------------------- */

struct rcu_cb {
    kk_rcu_fn fn;
    void *arg;
    struct rcu_cb *next;
};

static pthread_mutex_t cb_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cb_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t cb_done = PTHREAD_COND_INITIALIZER;
static struct rcu_cb *cb_head, **cb_tail = &cb_head;
static uint64_t cb_queued, cb_finished; /* callbacks ever queued / ever run */
static pthread_once_t reclaimer_once = PTHREAD_ONCE_INIT;
static bool reclaimer_ok;

static void *reclaimer_main(void *arg)
{
    (void)arg;
    kk_log_set_thread_name("rcu");
    pthread_mutex_lock(&cb_lock);
    for (;;) {
        while (!cb_head)
            pthread_cond_wait(&cb_work, &cb_lock);
        struct rcu_cb *batch = cb_head;
        cb_head = NULL;
        cb_tail = &cb_head;
        pthread_mutex_unlock(&cb_lock);

        /* Every callback in the batch was queued before this grace period
         * starts, hence after its object was unpublished. */
        kk_rcu_synchronize();
        uint64_t n = 0;
        while (batch) {
            struct rcu_cb *cb = batch;
            batch = cb->next;
            cb->fn(cb->arg);
            free(cb);
            n++;
        }

        pthread_mutex_lock(&cb_lock);
        cb_finished += n;
        pthread_cond_broadcast(&cb_done);
    }
    return NULL;
}

static void start_reclaimer(void)
{
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&th, &attr, reclaimer_main, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        KK_LOGE(rcu_log, "cannot start the reclaimer thread (error %d): callbacks run inline", rc);
        return;
    }
    pthread_setname_np(th, "kk-rcu");
    reclaimer_ok = true;
}

void kk_rcu_call(kk_rcu_fn fn, void *arg)
{
    pthread_once(&reclaimer_once, start_reclaimer);
    struct rcu_cb *cb = reclaimer_ok ? malloc(sizeof(*cb)) : NULL;
    if (!cb) {
        KK_LOGW_RL(rcu_log, "deferred free without a reclaimer: waiting for a grace period");
        kk_rcu_synchronize();
        fn(arg);
        return;
    }
    cb->fn = fn;
    cb->arg = arg;
    cb->next = NULL;
    pthread_mutex_lock(&cb_lock);
    *cb_tail = cb;
    cb_tail = &cb->next;
    cb_queued++;
    pthread_cond_signal(&cb_work);
    pthread_mutex_unlock(&cb_lock);
}

void kk_rcu_barrier(void)
{
    bool was_online = kk_rcu_thread_online_now();
    if (was_online)
        kk_rcu_thread_offline();
    pthread_mutex_lock(&cb_lock);
    uint64_t target = cb_queued;
    while (cb_finished < target)
        pthread_cond_wait(&cb_done, &cb_lock);
    pthread_mutex_unlock(&cb_lock);
    if (was_online)
        kk_rcu_thread_online();
}

void kk_rcu_get_stats(struct kk_rcu_stats *out)
{
    out->epoch = __atomic_load_n(&kk_rcu__epoch, __ATOMIC_RELAXED);
    pthread_mutex_lock(&cb_lock);
    out->callbacks_run = cb_finished;
    out->callbacks_pending = cb_queued - cb_finished;
    pthread_mutex_unlock(&cb_lock);
    pthread_mutex_lock(&registry_lock);
    out->grace_periods = grace_periods;
    out->threads = n_threads;
    out->threads_online = 0;
    for (struct rcu_thread *t = threads; t; t = t->next)
        if (__atomic_load_n(&t->pub.seen, __ATOMIC_RELAXED) != 0)
            out->threads_online++;
    pthread_mutex_unlock(&registry_lock);
}
