/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kk_rcu.h — quiescent-state based reclamation (QSBR) for read-mostly tables.
 *
 * Design note
 * -----------
 * A writer publishes a new version of a shared structure by pointer swap
 * (an atomic release store) and hands the old version to kk_rcu_call(). The
 * old version is freed once every *reader* thread has passed a quiescent
 * state: a point where it holds no pointer obtained from a shared structure.
 * Readers pay nothing per access (plain acquire loads); they only report a
 * quiescent state now and then — a reactor does it once per loop turn,
 * automatically — which costs one thread-local load, one load of the global
 * epoch and, when the epoch moved, one store.
 *
 * The global epoch starts at 1. kk_rcu_synchronize() increments it to E and
 * waits until every registered thread has either reported a quiescent state
 * having seen E, or is offline. A thread goes offline while it cannot hold
 * references, e.g. while sleeping in epoll (reactors do this around every
 * sleep), so an idle reactor never holds up a grace period. A thread that
 * is online but never reports a quiescent state (a callback stuck in a long
 * computation) does hold it up: reclamation waits, lookups stay safe.
 *
 * Callbacks queued with kk_rcu_call() run on one background thread (started
 * at the first call), in batches: it takes every pending callback, waits for
 * one grace period, then runs them in the order they were queued. Callbacks
 * may queue further callbacks (they run after a later grace period).
 *
 * Reader rules:
 *  - a thread that dereferences RCU-protected pointers must be registered
 *    (kk_rcu_register_thread(); reactor threads are registered by
 *    kk_reactor_run() for as long as it runs);
 *  - a pointer loaded from a shared structure is valid until the thread's
 *    next kk_rcu_quiescent() or kk_rcu_thread_offline(); for reactor
 *    callbacks that means: within the current callback, never across turns;
 *  - load published pointers with an acquire load (or __ATOMIC_CONSUME).
 *
 * Threads: every function may be called from any thread. Registration is
 * per thread and nests (register twice, unregister twice).
 */
#ifndef KK_RCU_H
#define KK_RCU_H

#include <stdbool.h>
#include <stdint.h>

/* Load / publish an RCU-protected pointer. */
#define kk_rcu_get(pp)     __atomic_load_n((pp), __ATOMIC_ACQUIRE)
#define kk_rcu_set(pp, v)  __atomic_store_n((pp), (v), __ATOMIC_RELEASE)

/* Per-thread reader state; its layout is private to rcu.c except for the
 * epoch the thread last saw, read by kk_rcu_quiescent() inline. */
struct kk_rcu_thread {
    uint64_t seen; /* epoch at the last quiescent state; 0 while offline */
};

extern __thread struct kk_rcu_thread *kk_rcu__self;
extern uint64_t kk_rcu__epoch;

/*
 * Make the calling thread a reader (online, as of now). Nests: each call
 * needs one kk_rcu_unregister_thread(). Returns 0 or -ENOMEM.
 */
int kk_rcu_register_thread(void);

/* Undo one kk_rcu_register_thread(); the last one forgets the thread (it
 * must hold no references from then on). No-op on an unregistered thread. */
void kk_rcu_unregister_thread(void);

/* True if the calling thread is registered. */
bool kk_rcu_thread_registered(void);

/*
 * Report a quiescent state: the calling thread holds no RCU-protected
 * pointer right now. Cheap enough to call once per loop turn or per burst.
 * No-op on an unregistered or offline thread.
 */
static inline void kk_rcu_quiescent(void)
{
    struct kk_rcu_thread *t = kk_rcu__self;
    if (!t)
        return;
    /* Acquire: loads after this point see everything unpublished before the
     * epoch moved. Release: loads before it completed before the writer can
     * see the new value. */
    uint64_t e = __atomic_load_n(&kk_rcu__epoch, __ATOMIC_ACQUIRE);
    uint64_t seen = __atomic_load_n(&t->seen, __ATOMIC_RELAXED);
    if (seen != e && seen != 0)
        __atomic_store_n(&t->seen, e, __ATOMIC_RELEASE);
}

/*
 * Go offline (the thread will not touch RCU-protected data, e.g. before it
 * sleeps) and back online. Offline implies a quiescent state. Both are
 * no-ops on an unregistered thread; they do not nest.
 */
void kk_rcu_thread_offline(void);
void kk_rcu_thread_online(void);

/* True if the calling thread is registered and online. */
bool kk_rcu_thread_online_now(void);

/*
 * Wait for a grace period: returns once every reader that may hold a
 * pointer unpublished before the call has dropped it. Blocks (spins
 * briefly, then sleeps). A registered caller is taken offline while it
 * waits, so it must not hold references across the call.
 */
void kk_rcu_synchronize(void);

typedef void (*kk_rcu_fn)(void *arg);

/*
 * Run fn(arg) on the reclaimer thread after a grace period (typically to
 * free an object that was just unpublished). Returns at once: fn never runs
 * before a grace period. Only if the bookkeeping allocation or the
 * reclaimer thread cannot be had does the call itself wait for a grace
 * period and then run fn(arg) on the calling thread (logged). Any thread
 * (callbacks included).
 */
void kk_rcu_call(kk_rcu_fn fn, void *arg);

/*
 * Wait until every callback queued (by any thread) before this call has
 * run. Callbacks queued by those callbacks may still be pending; call it
 * again to flush them. For teardown and tests. Not from a callback (it
 * would wait for itself).
 */
void kk_rcu_barrier(void);

struct kk_rcu_stats {
    uint64_t epoch;          /* current global epoch */
    uint64_t grace_periods;  /* completed kk_rcu_synchronize() waits */
    uint64_t callbacks_run;
    uint64_t callbacks_pending;
    uint32_t threads;        /* registered threads */
    uint32_t threads_online;
};

/* A snapshot. Any thread. */
void kk_rcu_get_stats(struct kk_rcu_stats *out);

#endif /* KK_RCU_H */
