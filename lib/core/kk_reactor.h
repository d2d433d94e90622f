/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kk_reactor.h — one event loop per thread.
 *
 * A reactor owns everything that runs on its thread:
 *  - pollers: functions called every loop turn (or every N microseconds)
 *    that report whether they did work (> 0) or were idle (0);
 *  - fd watchers: callbacks for readiness of file descriptors (epoll);
 *  - timers: one-shot or periodic callbacks, fired in expiry order (ties in
 *    the order they were armed);
 *  - an inbound message queue: any thread may send a function and an
 *    argument to run on the reactor's thread (kk_reactor_send()). This is how
 *    state owned by one thread is changed by another: no locks on data paths.
 *
 * Modes:
 *  - KK_REACTOR_ADAPTIVE (default): busy-polls while there is work; after
 *    opts.idle_us without any, it sleeps in epoll until an fd is ready, a
 *    timer is due or a message arrives (an eventfd kick). An idle reactor
 *    costs no CPU. Before sleeping it *arms* each poller that has an arm
 *    callback (e.g. a virtqueue poller enables guest notifications) and
 *    disarms them on wake-up. A poller with period 0 and no arm callback
 *    cannot wake a sleeping reactor, so while one is registered the reactor
 *    does not sleep.
 *  - KK_REACTOR_BUSY_POLL: never sleeps (for dedicated cores).
 *
 * Threads: a reactor runs on the thread that calls kk_reactor_run(), or on
 * a thread started by kk_reactor_spawn() (optionally pinned to a CPU).
 * Everything except kk_reactor_send(), kk_reactor_stop() and
 * kk_reactor_get_stats() must be called on the reactor's thread — or, before
 * the reactor first runs, on the thread that created it. Callbacks may
 * create and destroy pollers, watchers and timers, including themselves.
 *
 * RCU (kk_rcu.h): kk_reactor_run() registers its thread as an RCU reader
 * for as long as it runs, reports a quiescent state at the start of every
 * loop turn and goes offline while it sleeps in epoll. So a callback may
 * use pointers read from RCU-published tables until it returns, never
 * across turns; and an idle reactor never delays reclamation.
 *
 * Lifetime: kk_reactor_stop() makes run() return after the current turn;
 * messages already queued are still delivered. kk_reactor_destroy() frees
 * every poller, watcher and timer still registered: their handles become
 * invalid.
 */
#ifndef KK_REACTOR_H
#define KK_REACTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "kk_common.h"

struct kk_reactor;
struct kk_poller;
struct kk_fd_watch;
struct kk_timer;

enum kk_reactor_mode {
    KK_REACTOR_ADAPTIVE = 0,
    KK_REACTOR_BUSY_POLL = 1,
};

struct kk_reactor_opts {
    const char *name;          /* thread and log name; default "reactor" */
    enum kk_reactor_mode mode;
    uint32_t idle_us;          /* adaptive: idle time before sleeping; default 100 */
    bool adapt_idle;           /* adaptive: the idle time adapts between 0 and
                                  idle_us to how soon work comes after a sleep
                                  (short waits: keep polling; long: sleep at once) */
    uint32_t msg_capacity;     /* inbound messages in flight; default 4096 */
};

/* Set every field of @opts to its default. */
void kk_reactor_opts_init(struct kk_reactor_opts *opts);

/*
 * Create a reactor (not yet running). @opts may be NULL for defaults.
 * Returns 0 and *out, or -EINVAL, -ENOMEM, or an errno from epoll/eventfd.
 */
int kk_reactor_create(const struct kk_reactor_opts *opts, struct kk_reactor **out);

/*
 * Free a reactor that is not running, with all its pollers, watchers and
 * timers; runs messages still queued. Accepts NULL. If the reactor was
 * spawned, joins its thread first (after stopping it).
 */
void kk_reactor_destroy(struct kk_reactor *r);

/* Run the loop on the calling thread until kk_reactor_stop(). Returns 0, or
 * -EBUSY if the reactor is already running. */
int kk_reactor_run(struct kk_reactor *r);

/*
 * Run one loop turn without sleeping: messages, pollers, due timers and
 * ready fds. Returns the amount of work done (0 when idle). For tests and
 * for programs that drive the loop themselves.
 */
int kk_reactor_poll_once(struct kk_reactor *r);

/* Ask the reactor to return from kk_reactor_run(). Any thread; idempotent. */
void kk_reactor_stop(struct kk_reactor *r);

/*
 * Start a thread named after the reactor that runs it, pinned to @cpu
 * (or unpinned if @cpu < 0). Returns 0, or -EINVAL (no such CPU), -EBUSY
 * (already spawned), or an errno from pthread_create.
 */
int kk_reactor_spawn(struct kk_reactor *r, int cpu);

/* Stop a spawned reactor and wait for its thread. Returns 0 or -EINVAL if
 * it was not spawned. */
int kk_reactor_join(struct kk_reactor *r);

/* The reactor running on the calling thread, or NULL. */
struct kk_reactor *kk_reactor_current(void);

const char *kk_reactor_name(const struct kk_reactor *r);

/* Monotonic time in microseconds, cached at the start of each loop turn. */
uint64_t kk_reactor_now_us(const struct kk_reactor *r);

/* Uncached monotonic time in microseconds. */
uint64_t kk_now_us(void);

/* ---- messages ----------------------------------------------------------- */

typedef void (*kk_msg_fn)(void *arg);

/*
 * Queue fn(arg) to run on @r's thread. Any thread. Messages from one sender
 * run in the order sent. Returns 0, or -ENOMEM when the queue is full (the
 * caller retries later or fails its request); fn is then never called.
 */
int kk_reactor_send(struct kk_reactor *r, kk_msg_fn fn, void *arg);

/* ---- pollers ------------------------------------------------------------ */

/* Return > 0 if work was done, 0 if idle. */
typedef int (*kk_poller_fn)(void *arg);

/*
 * Arm (@enable true, before the reactor sleeps) or disarm (after it wakes)
 * the poller's wake-up source. When arming, return true if work is already
 * pending: the reactor then does not sleep.
 */
typedef bool (*kk_poller_arm_fn)(void *arg, bool enable);

/*
 * Register a poller called every loop turn (@period_us == 0) or about every
 * @period_us microseconds. Returns 0 and *out, or -EINVAL / -ENOMEM.
 */
int kk_poller_register(struct kk_reactor *r, kk_poller_fn fn, void *arg, uint64_t period_us,
                       struct kk_poller **out);

/* Give an every-turn poller an arm callback so the reactor may sleep. */
void kk_poller_set_arm(struct kk_poller *p, kk_poller_arm_fn arm);

/* Unregister and free. Safe inside the poller's own callback. Accepts NULL. */
void kk_poller_unregister(struct kk_poller *p);

/* ---- fd watchers -------------------------------------------------------- */

#define KK_FD_READ  0x1u
#define KK_FD_WRITE 0x2u
#define KK_FD_ERROR 0x4u /* reported only: hang-up or error on the fd */

/* @events: what is ready (KK_FD_*). */
typedef void (*kk_fd_fn)(void *arg, int fd, unsigned events);

/*
 * Watch @fd for @events (KK_FD_READ and/or KK_FD_WRITE; level-triggered).
 * The fd stays owned by the caller, who must remove the watch before
 * closing it. Returns 0 and *out, or -EINVAL, -ENOMEM, -EEXIST or an errno
 * from epoll_ctl.
 */
int kk_fd_watch_add(struct kk_reactor *r, int fd, unsigned events, kk_fd_fn fn, void *arg,
                    struct kk_fd_watch **out);

/* Change the watched events. Returns 0 or a negative errno. */
int kk_fd_watch_modify(struct kk_fd_watch *w, unsigned events);

/* Stop watching and free. Safe inside callbacks. Accepts NULL. */
void kk_fd_watch_remove(struct kk_fd_watch *w);

/* ---- timers ------------------------------------------------------------- */

typedef void (*kk_timer_fn)(void *arg);

/* Create a disarmed timer. Returns 0 and *out, or -EINVAL / -ENOMEM. */
int kk_timer_create(struct kk_reactor *r, kk_timer_fn fn, void *arg, struct kk_timer **out);

/*
 * Fire after @delay_us, then every @period_us if it is non-zero. Re-arming
 * an armed timer moves it. Returns 0 or -EINVAL.
 */
int kk_timer_arm(struct kk_timer *t, uint64_t delay_us, uint64_t period_us);

void kk_timer_disarm(struct kk_timer *t);
bool kk_timer_armed(const struct kk_timer *t);

/* Disarm and free. Safe inside the timer's own callback. Accepts NULL. */
void kk_timer_destroy(struct kk_timer *t);

/* ---- statistics --------------------------------------------------------- */

struct kk_reactor_stats {
    uint64_t turns;       /* loop turns */
    uint64_t busy_turns;  /* turns that did work */
    uint64_t sleeps;      /* times the reactor slept in epoll */
    uint64_t messages;    /* messages run */
    uint64_t timer_fires;
    uint64_t fd_events;
    uint64_t busy_tsc;    /* cycles spent in turns that did work */
    uint64_t idle_tsc;    /* cycles spent in idle turns (not sleeping) */
    uint64_t spin_us;     /* idle time before sleeping now (adapt_idle moves it) */
};

/* A snapshot (fields read individually; any thread). */
void kk_reactor_get_stats(const struct kk_reactor *r, struct kk_reactor_stats *out);

#endif /* KK_REACTOR_H */
