/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "kk_err.h"
#include "kk_log.h"
#include "kk_rcu.h"
#include "kk_reactor.h"
#include "kk_ring.h"

KK_LOG_COMPONENT(reactor_log, "reactor");

#define MAX_EVENTS 64
#define MSG_BATCH 64            /* messages run per turn (pointer pairs) */
#define FD_CHECK_EVERY 64       /* spinning turns between non-blocking fd checks */
#define FD_CHECK_US 50          /* ... or this many microseconds */

struct kk_poller {
    struct kk_reactor *reactor;
    kk_poller_fn fn;
    kk_poller_arm_fn arm;
    void *arg;
    struct kk_timer *timer; /* timed pollers run from a periodic timer */
    bool removed;
};

struct kk_fd_watch {
    struct kk_reactor *reactor;
    int fd;
    unsigned events;
    kk_fd_fn fn;
    void *arg;
    bool removed;
    struct kk_fd_watch *prev, *next; /* live watches of the reactor */
    struct kk_fd_watch *next_free;   /* deferred-free list */
};

struct kk_timer {
    struct kk_reactor *reactor;
    kk_timer_fn fn;
    void *arg;
    uint64_t expire_us;
    uint64_t period_us;
    uint64_t seq;      /* arming order, breaks ties between equal expiries */
    int32_t heap_idx;  /* -1 when not armed */
    bool running;      /* its callback is on the stack */
    bool destroyed;    /* destroyed while running: free after the callback */
    struct kk_timer *prev, *next; /* every timer of the reactor */
};

struct kk_reactor {
    char name[16];
    enum kk_reactor_mode mode;
    uint64_t idle_us;
    bool adapt_idle;        /* spin_us adapts in [0, idle_us] */
    uint64_t spin_us;       /* current idle time before sleeping */

    int epfd;
    int wake_fd;            /* eventfd: kicks a sleeping reactor */
    struct kk_fd_watch *wake_watch;

    /* Messages travel as (fn, arg) pointer pairs in an MPSC ring. A pair is
     * enqueued with one bulk call, so it occupies two adjacent slots and the
     * consumer always sees complete pairs: no allocation per message. */
    struct kk_ring *msgs;
    int sleeping;           /* accessed atomically: 1 while in epoll_wait */
    int stop;               /* accessed atomically */
    int running;            /* accessed atomically */

    struct kk_poller **pollers; /* every-turn pollers */
    uint32_t n_pollers, cap_pollers;
    uint32_t n_unarmable;       /* every-turn pollers without arm callback */
    bool pollers_dirty;         /* some were removed: compact after the turn */

    struct kk_timer **heap;
    uint32_t n_timers, cap_timers;
    uint64_t timer_seq;

    struct kk_fd_watch *watches;      /* live watches */
    struct kk_fd_watch *free_watches; /* removed, freed after dispatch */
    struct kk_timer *timers;          /* every timer, armed or not */

    uint64_t now_us;
    uint64_t now_tsc;                 /* TSC when now_us was read */
    uint32_t turns_since_clock;
    uint64_t last_work_us;
    uint32_t turns_since_fd_check;
    uint64_t last_fd_check_us;

    pthread_t thread;
    bool spawned;

    struct kk_reactor_stats stats;
};

static __thread struct kk_reactor *current_reactor;

uint64_t kk_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/*
 * TSC ticks per microsecond, measured once per process: a spinning reactor
 * reads the clock only when about a microsecond has passed by the TSC (a
 * clock_gettime per turn costs several percent at millions of turns per
 * second). The TSC only paces the reads; every time the reactor uses comes
 * from the clock.
 */
static uint64_t tsc_per_us;
static pthread_once_t tsc_once = PTHREAD_ONCE_INIT;

static void calibrate_tsc(void)
{
    uint64_t u0 = kk_now_us(), t0 = kk_rdtsc(), u1;
    do {
        u1 = kk_now_us();
    } while (u1 - u0 < 1000);
    uint64_t t1 = kk_rdtsc();
    tsc_per_us = t1 > t0 ? (t1 - t0) / (u1 - u0) : 0;
}

static inline void refresh_now(struct kk_reactor *r, uint64_t tsc)
{
    if (tsc - r->now_tsc >= tsc_per_us || ++r->turns_since_clock >= 64) {
        r->now_us = kk_now_us();
        r->now_tsc = tsc;
        r->turns_since_clock = 0;
    }
}

void kk_reactor_opts_init(struct kk_reactor_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->name = "reactor";
    opts->mode = KK_REACTOR_ADAPTIVE;
    opts->idle_us = 100;
    opts->msg_capacity = 4096;
}

static void wake_cb(void *arg, int fd, unsigned events)
{
    uint64_t v;
    ssize_t n = read(fd, &v, sizeof(v));
    (void)n;
    (void)arg;
    (void)events;
}

int kk_reactor_create(const struct kk_reactor_opts *opts, struct kk_reactor **out)
{
    struct kk_reactor_opts defaults;
    kk_reactor_opts_init(&defaults);
    if (!opts)
        opts = &defaults;
    if (!out || opts->msg_capacity == 0 || opts->msg_capacity > KK_RING_MAX_CAPACITY / 2 ||
        (opts->mode != KK_REACTOR_ADAPTIVE && opts->mode != KK_REACTOR_BUSY_POLL))
        return -EINVAL;

    struct kk_reactor *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    pthread_once(&tsc_once, calibrate_tsc);
    snprintf(r->name, sizeof(r->name), "%s", opts->name ? opts->name : "reactor");
    r->mode = opts->mode;
    r->idle_us = opts->idle_us;
    r->adapt_idle = opts->adapt_idle;
    r->spin_us = opts->idle_us;
    r->epfd = -1;
    r->wake_fd = -1;

    int rc = kk_ring_create(opts->msg_capacity * 2, KK_RING_F_SC_DEQ, &r->msgs);
    if (rc < 0)
        goto fail;
    r->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (r->epfd < 0) {
        rc = kk_neg_errno();
        goto fail;
    }
    r->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->wake_fd < 0) {
        rc = kk_neg_errno();
        goto fail;
    }
    rc = kk_fd_watch_add(r, r->wake_fd, KK_FD_READ, wake_cb, r, &r->wake_watch);
    if (rc < 0)
        goto fail;
    r->now_us = r->last_work_us = kk_now_us();
    *out = r;
    return 0;

fail:
    if (r->wake_fd >= 0)
        close(r->wake_fd);
    if (r->epfd >= 0)
        close(r->epfd);
    kk_ring_destroy(r->msgs);
    free(r);
    return rc;
}

const char *kk_reactor_name(const struct kk_reactor *r)
{
    return r->name;
}

uint64_t kk_reactor_now_us(const struct kk_reactor *r)
{
    return r->now_us;
}

struct kk_reactor *kk_reactor_current(void)
{
    return current_reactor;
}

/* ---- messages ----------------------------------------------------------- */

int kk_reactor_send(struct kk_reactor *r, kk_msg_fn fn, void *arg)
{
    if (!r || !fn)
        return -EINVAL;
    void *pair[2] = {(void *)fn, arg};
    if (kk_ring_mp_enqueue_bulk(r->msgs, pair, 2) != 2)
        return -ENOMEM;
    /* Pairs with the store-then-check in try_sleep(): either the reactor
     * sees our message before sleeping, or we see it sleeping and kick. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&r->sleeping, __ATOMIC_RELAXED)) {
        uint64_t one = 1;
        ssize_t n = write(r->wake_fd, &one, sizeof(one));
        (void)n;
    }
    return 0;
}

static int run_messages(struct kk_reactor *r, uint32_t max_pairs)
{
    void *batch[MSG_BATCH * 2];
    uint32_t want = KK_MIN(max_pairs, (uint32_t)MSG_BATCH) * 2;
    uint32_t n = kk_ring_sc_dequeue_burst(r->msgs, batch, want);
    /* Producers publish whole pairs, so n is even. */
    for (uint32_t i = 0; i + 1 < n; i += 2) {
        kk_msg_fn fn = (kk_msg_fn)batch[i];
        fn(batch[i + 1]);
    }
    r->stats.messages += n / 2;
    return (int)(n / 2);
}

/* ---- timers ------------------------------------------------------------- */

static bool timer_before(const struct kk_timer *a, const struct kk_timer *b)
{
    if (a->expire_us != b->expire_us)
        return a->expire_us < b->expire_us;
    return a->seq < b->seq;
}

static void heap_set(struct kk_reactor *r, uint32_t i, struct kk_timer *t)
{
    r->heap[i] = t;
    t->heap_idx = (int32_t)i;
}

static void heap_up(struct kk_reactor *r, uint32_t i)
{
    struct kk_timer *t = r->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!timer_before(t, r->heap[parent]))
            break;
        heap_set(r, i, r->heap[parent]);
        i = parent;
    }
    heap_set(r, i, t);
}

static void heap_down(struct kk_reactor *r, uint32_t i)
{
    struct kk_timer *t = r->heap[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= r->n_timers)
            break;
        if (child + 1 < r->n_timers && timer_before(r->heap[child + 1], r->heap[child]))
            child++;
        if (!timer_before(r->heap[child], t))
            break;
        heap_set(r, i, r->heap[child]);
        i = child;
    }
    heap_set(r, i, t);
}

static void heap_remove(struct kk_reactor *r, struct kk_timer *t)
{
    uint32_t i = (uint32_t)t->heap_idx;
    t->heap_idx = -1;
    r->n_timers--;
    if (i == r->n_timers)
        return;
    /* Move the last timer into the hole and restore the heap order. */
    heap_set(r, i, r->heap[r->n_timers]);
    if (i > 0 && timer_before(r->heap[i], r->heap[(i - 1) / 2]))
        heap_up(r, i);
    else
        heap_down(r, i);
}

static int heap_insert(struct kk_reactor *r, struct kk_timer *t)
{
    if (r->n_timers == r->cap_timers) {
        uint32_t cap = r->cap_timers ? r->cap_timers * 2 : 16;
        struct kk_timer **h = realloc(r->heap, cap * sizeof(*h));
        if (!h)
            return -ENOMEM;
        r->heap = h;
        r->cap_timers = cap;
    }
    heap_set(r, r->n_timers++, t);
    heap_up(r, r->n_timers - 1);
    return 0;
}

int kk_timer_create(struct kk_reactor *r, kk_timer_fn fn, void *arg, struct kk_timer **out)
{
    if (!r || !fn || !out)
        return -EINVAL;
    struct kk_timer *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->reactor = r;
    t->fn = fn;
    t->arg = arg;
    t->heap_idx = -1;
    t->next = r->timers;
    if (r->timers)
        r->timers->prev = t;
    r->timers = t;
    *out = t;
    return 0;
}

static void timer_unlink(struct kk_timer *t)
{
    struct kk_reactor *r = t->reactor;
    if (t->prev)
        t->prev->next = t->next;
    else
        r->timers = t->next;
    if (t->next)
        t->next->prev = t->prev;
}

int kk_timer_arm(struct kk_timer *t, uint64_t delay_us, uint64_t period_us)
{
    if (!t || t->destroyed)
        return -EINVAL;
    struct kk_reactor *r = t->reactor;
    if (t->heap_idx >= 0)
        heap_remove(r, t);
    /* Measure from the real time, not the turn's cached one, so a timer
     * armed late in a long turn does not fire early. */
    t->expire_us = kk_now_us() + delay_us;
    t->period_us = period_us;
    t->seq = r->timer_seq++;
    return heap_insert(r, t);
}

void kk_timer_disarm(struct kk_timer *t)
{
    if (t && t->heap_idx >= 0)
        heap_remove(t->reactor, t);
    if (t)
        t->period_us = 0;
}

bool kk_timer_armed(const struct kk_timer *t)
{
    return t->heap_idx >= 0;
}

void kk_timer_destroy(struct kk_timer *t)
{
    if (!t)
        return;
    if (t->destroyed)
        return;
    kk_timer_disarm(t);
    timer_unlink(t);
    if (t->running) {
        t->destroyed = true;
        return;
    }
    free(t);
}

static int run_timers(struct kk_reactor *r)
{
    int fired = 0;
    while (r->n_timers > 0 && r->heap[0]->expire_us <= r->now_us) {
        struct kk_timer *t = r->heap[0];
        heap_remove(r, t);
        if (t->period_us) {
            /* Re-arm before the callback so it may disarm or re-arm. Skip
             * periods we missed instead of firing them in a burst. */
            t->expire_us += t->period_us;
            if (t->expire_us <= r->now_us)
                t->expire_us = r->now_us + t->period_us;
            t->seq = r->timer_seq++;
            if (heap_insert(r, t) < 0)
                KK_LOGE_RL(reactor_log, "%s: cannot re-arm periodic timer: out of memory",
                           r->name);
        }
        t->running = true;
        t->fn(t->arg);
        t->running = false;
        if (t->destroyed)
            free(t);
        fired++;
    }
    r->stats.timer_fires += (uint64_t)fired;
    return fired;
}

/* ---- pollers ------------------------------------------------------------ */

static void timed_poller_cb(void *arg)
{
    struct kk_poller *p = arg;
    /* The callback may unregister (and so free) its own poller. */
    struct kk_reactor *r = p->reactor;
    if (p->fn(p->arg) > 0)
        r->last_work_us = r->now_us;
}

int kk_poller_register(struct kk_reactor *r, kk_poller_fn fn, void *arg, uint64_t period_us,
                       struct kk_poller **out)
{
    if (!r || !fn || !out)
        return -EINVAL;
    struct kk_poller *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->reactor = r;
    p->fn = fn;
    p->arg = arg;
    if (period_us) {
        int rc = kk_timer_create(r, timed_poller_cb, p, &p->timer);
        if (rc == 0)
            rc = kk_timer_arm(p->timer, period_us, period_us);
        if (rc < 0) {
            kk_timer_destroy(p->timer);
            free(p);
            return rc;
        }
        *out = p;
        return 0;
    }
    if (r->n_pollers == r->cap_pollers) {
        uint32_t cap = r->cap_pollers ? r->cap_pollers * 2 : 8;
        struct kk_poller **v = realloc(r->pollers, cap * sizeof(*v));
        if (!v) {
            free(p);
            return -ENOMEM;
        }
        r->pollers = v;
        r->cap_pollers = cap;
    }
    r->pollers[r->n_pollers++] = p;
    r->n_unarmable++;
    *out = p;
    return 0;
}

void kk_poller_set_arm(struct kk_poller *p, kk_poller_arm_fn arm)
{
    if (p->timer || p->removed)
        return;
    if (!p->arm && arm)
        p->reactor->n_unarmable--;
    else if (p->arm && !arm)
        p->reactor->n_unarmable++;
    p->arm = arm;
}

void kk_poller_unregister(struct kk_poller *p)
{
    if (!p || p->removed)
        return;
    struct kk_reactor *r = p->reactor;
    p->removed = true;
    if (p->timer) {
        kk_timer_destroy(p->timer);
        free(p);
        return;
    }
    if (!p->arm)
        r->n_unarmable--;
    /* The poller array may be mid-iteration: free it when compacting. */
    r->pollers_dirty = true;
}

static void compact_pollers(struct kk_reactor *r)
{
    uint32_t j = 0;
    for (uint32_t i = 0; i < r->n_pollers; i++) {
        if (r->pollers[i]->removed)
            free(r->pollers[i]);
        else
            r->pollers[j++] = r->pollers[i];
    }
    r->n_pollers = j;
    r->pollers_dirty = false;
}

static int run_pollers(struct kk_reactor *r)
{
    int busy = 0;
    /* Pollers registered during this pass run from the next turn. */
    uint32_t n = r->n_pollers;
    for (uint32_t i = 0; i < n; i++) {
        struct kk_poller *p = r->pollers[i];
        if (!p->removed && p->fn(p->arg) > 0)
            busy++;
    }
    return busy;
}

/* ---- fd watchers -------------------------------------------------------- */

static uint32_t to_epoll(unsigned events)
{
    uint32_t e = 0;
    if (events & KK_FD_READ)
        e |= EPOLLIN | EPOLLRDHUP;
    if (events & KK_FD_WRITE)
        e |= EPOLLOUT;
    return e;
}

int kk_fd_watch_add(struct kk_reactor *r, int fd, unsigned events, kk_fd_fn fn, void *arg,
                    struct kk_fd_watch **out)
{
    if (!r || fd < 0 || !fn || !out || (events & ~(KK_FD_READ | KK_FD_WRITE)))
        return -EINVAL;
    struct kk_fd_watch *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->reactor = r;
    w->fd = fd;
    w->events = events;
    w->fn = fn;
    w->arg = arg;
    struct epoll_event ev = {.events = to_epoll(events), .data.ptr = w};
    if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int rc = kk_neg_errno();
        free(w);
        return rc;
    }
    w->next = r->watches;
    if (r->watches)
        r->watches->prev = w;
    r->watches = w;
    *out = w;
    return 0;
}

int kk_fd_watch_modify(struct kk_fd_watch *w, unsigned events)
{
    if (!w || w->removed || (events & ~(KK_FD_READ | KK_FD_WRITE)))
        return -EINVAL;
    struct epoll_event ev = {.events = to_epoll(events), .data.ptr = w};
    if (epoll_ctl(w->reactor->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0)
        return kk_neg_errno();
    w->events = events;
    return 0;
}

void kk_fd_watch_remove(struct kk_fd_watch *w)
{
    if (!w || w->removed)
        return;
    struct kk_reactor *r = w->reactor;
    epoll_ctl(r->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->removed = true;
    if (w->prev)
        w->prev->next = w->next;
    else
        r->watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    /* An event for it may sit in the array being dispatched: free later. */
    w->next_free = r->free_watches;
    r->free_watches = w;
}

static void free_removed_watches(struct kk_reactor *r)
{
    while (r->free_watches) {
        struct kk_fd_watch *w = r->free_watches;
        r->free_watches = w->next_free;
        free(w);
    }
}

static int dispatch_fds(struct kk_reactor *r, int timeout_us)
{
    struct epoll_event events[MAX_EVENTS];
    struct timespec ts = {.tv_sec = timeout_us / 1000000, .tv_nsec = (timeout_us % 1000000) * 1000};
    /* A thread sleeping in epoll holds no RCU references: offline, so an
     * idle reactor never holds up a grace period. Back online before any
     * callback runs. */
    if (timeout_us != 0)
        kk_rcu_thread_offline();
    int n = epoll_pwait2(r->epfd, events, MAX_EVENTS, timeout_us < 0 ? NULL : &ts, NULL);
    if (timeout_us != 0)
        kk_rcu_thread_online();
    if (n < 0) {
        if (errno != EINTR)
            KK_LOGE_RL(reactor_log, "%s: epoll_pwait2: %s", r->name, kk_strerror(errno));
        return 0;
    }
    int work = 0;
    for (int i = 0; i < n; i++) {
        struct kk_fd_watch *w = events[i].data.ptr;
        if (w->removed)
            continue;
        unsigned ev = 0;
        if (events[i].events & (EPOLLIN | EPOLLRDHUP))
            ev |= KK_FD_READ;
        if (events[i].events & EPOLLOUT)
            ev |= KK_FD_WRITE;
        if (events[i].events & (EPOLLERR | EPOLLHUP))
            ev |= KK_FD_ERROR | (w->events & KK_FD_READ);
        w->fn(w->arg, w->fd, ev);
        if (w != r->wake_watch)
            work++;
    }
    free_removed_watches(r);
    r->stats.fd_events += (uint64_t)work;
    r->turns_since_fd_check = 0;
    r->last_fd_check_us = r->now_us;
    return work;
}

/* ---- the loop ----------------------------------------------------------- */

static int turn(struct kk_reactor *r, uint64_t tsc)
{
    /* Between turns no callback holds an RCU-protected pointer. */
    kk_rcu_quiescent();
    refresh_now(r, tsc);
    int work = run_messages(r, MSG_BATCH);
    int polled = run_pollers(r);
    work += polled;
    work += run_timers(r);
    /* While pollers spin, check fds only now and then (every 64 turns or
     * 50 us): an epoll_wait per turn would cost more than the pollers' own
     * work. Without active pollers there is nothing to spin for. */
    if (r->n_pollers == 0 || ++r->turns_since_fd_check >= FD_CHECK_EVERY ||
        r->now_us - r->last_fd_check_us >= FD_CHECK_US)
        work += dispatch_fds(r, 0);
    if (r->pollers_dirty)
        compact_pollers(r);
    return work;
}

int kk_reactor_poll_once(struct kk_reactor *r)
{
    struct kk_reactor *prev = current_reactor;
    current_reactor = r;
    int work = turn(r, kk_rdtsc());
    current_reactor = prev;
    return work;
}

/* Arm every armable poller; true if all are armed and none has work. */
static bool arm_pollers(struct kk_reactor *r)
{
    bool pending = false;
    for (uint32_t i = 0; i < r->n_pollers; i++) {
        struct kk_poller *p = r->pollers[i];
        if (!p->removed && p->arm && p->arm(p->arg, true))
            pending = true;
    }
    return !pending;
}

static void disarm_pollers(struct kk_reactor *r)
{
    for (uint32_t i = 0; i < r->n_pollers; i++) {
        struct kk_poller *p = r->pollers[i];
        if (!p->removed && p->arm)
            p->arm(p->arg, false);
    }
}

/*
 * Adaptive idle time (opts.adapt_idle), after QEMU's adaptive polling: when
 * a sleep ends, @waited_us is the whole wait since the last work (the spin
 * plus the sleep). If it was longer than the maximum, spinning could not
 * have caught it: halve the spin (down to none). If it was shorter, a
 * longer spin would have caught it without a sleep and a wake-up: double
 * it (up to the maximum). So a reactor whose work comes in quick
 * succession keeps polling, and one waiting on slower devices sleeps at
 * once instead of burning the spin on every request.
 */
static void adapt_spin(struct kk_reactor *r, uint64_t waited_us)
{
    if (waited_us > r->idle_us) {
        r->spin_us /= 2;
        if (r->spin_us < 2)
            r->spin_us = 0;
    } else {
        uint64_t grown = r->spin_us ? r->spin_us * 2 : 2;
        r->spin_us = grown < r->idle_us ? grown : r->idle_us;
    }
}

static void try_sleep(struct kk_reactor *r)
{
    if (r->n_unarmable > 0)
        return;
    __atomic_store_n(&r->sleeping, 1, __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    bool can_sleep = arm_pollers(r);
    if (can_sleep && (kk_ring_count(r->msgs) > 0 || __atomic_load_n(&r->stop, __ATOMIC_SEQ_CST)))
        can_sleep = false;
    if (can_sleep) {
        int timeout_us = -1;
        if (r->n_timers > 0) {
            uint64_t now = kk_now_us();
            uint64_t due = r->heap[0]->expire_us;
            uint64_t wait = due > now ? due - now : 0;
            timeout_us = wait > 1000000000u ? 1000000000 : (int)wait;
        }
        r->stats.sleeps++;
        dispatch_fds(r, timeout_us);
        if (r->adapt_idle)
            adapt_spin(r, kk_now_us() - r->last_work_us);
    }
    __atomic_store_n(&r->sleeping, 0, __ATOMIC_RELAXED);
    disarm_pollers(r);
    r->now_us = r->last_work_us = kk_now_us();
    r->now_tsc = kk_rdtsc();
    r->turns_since_clock = 0;
}

int kk_reactor_run(struct kk_reactor *r)
{
    if (__atomic_exchange_n(&r->running, 1, __ATOMIC_ACQ_REL))
        return -EBUSY;
    struct kk_reactor *prev = current_reactor;
    current_reactor = r;
    kk_log_set_thread_name(r->name);
    /* Callbacks may read RCU-protected tables; the loop reports quiescent
     * states for them (kk_rcu.h). */
    bool rcu = kk_rcu_register_thread() == 0;
    if (!rcu)
        KK_LOGE(reactor_log, "%s: cannot register with RCU: out of memory", r->name);
    KK_LOGD(reactor_log, "%s: running (%s)", r->name,
            r->mode == KK_REACTOR_ADAPTIVE ? "adaptive" : "busy-poll");

    while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
        uint64_t t0 = kk_rdtsc();
        int work = turn(r, t0);
        uint64_t t1 = kk_rdtsc();
        r->stats.turns++;
        if (work > 0) {
            r->stats.busy_turns++;
            r->stats.busy_tsc += t1 - t0;
            r->last_work_us = r->now_us;
        } else {
            r->stats.idle_tsc += t1 - t0;
            if (r->mode == KK_REACTOR_ADAPTIVE && r->now_us - r->last_work_us >= r->spin_us)
                try_sleep(r);
        }
    }
    /* Deliver what was sent before the stop. */
    while (run_messages(r, MSG_BATCH) > 0)
        ;
    __atomic_store_n(&r->stop, 0, __ATOMIC_RELAXED);
    if (rcu)
        kk_rcu_unregister_thread();
    current_reactor = prev;
    __atomic_store_n(&r->running, 0, __ATOMIC_RELEASE);
    KK_LOGD(reactor_log, "%s: stopped", r->name);
    return 0;
}

void kk_reactor_stop(struct kk_reactor *r)
{
    __atomic_store_n(&r->stop, 1, __ATOMIC_SEQ_CST);
    uint64_t one = 1;
    ssize_t n = write(r->wake_fd, &one, sizeof(one));
    (void)n;
}

static void *reactor_thread(void *arg)
{
    struct kk_reactor *r = arg;
    kk_reactor_run(r);
    return NULL;
}

int kk_reactor_spawn(struct kk_reactor *r, int cpu)
{
    if (r->spawned)
        return -EBUSY;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (cpu >= 0) {
        if (cpu >= CPU_SETSIZE) {
            pthread_attr_destroy(&attr);
            return -EINVAL;
        }
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
    }
    int rc = pthread_create(&r->thread, &attr, reactor_thread, r);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        KK_LOGE(reactor_log, "%s: cannot start thread on cpu %d: %s", r->name, cpu,
                kk_strerror(rc));
        return -rc;
    }
    pthread_setname_np(r->thread, r->name);
    r->spawned = true;
    return 0;
}

int kk_reactor_join(struct kk_reactor *r)
{
    if (!r->spawned)
        return -EINVAL;
    kk_reactor_stop(r);
    pthread_join(r->thread, NULL);
    r->spawned = false;
    return 0;
}

void kk_reactor_destroy(struct kk_reactor *r)
{
    if (!r)
        return;
    if (r->spawned)
        kk_reactor_join(r);
    while (run_messages(r, MSG_BATCH) > 0)
        ;
    for (uint32_t i = 0; i < r->n_pollers; i++)
        free(r->pollers[i]);
    free(r->pollers);
    /* Every timer, armed or not; a timed poller is freed with its timer. */
    while (r->timers) {
        struct kk_timer *t = r->timers;
        r->timers = t->next;
        if (t->fn == timed_poller_cb)
            free(t->arg);
        free(t);
    }
    r->n_timers = 0;
    free(r->heap);
    while (r->watches)
        kk_fd_watch_remove(r->watches);
    free_removed_watches(r);
    close(r->wake_fd);
    close(r->epfd);
    kk_ring_destroy(r->msgs);
    free(r);
}

void kk_reactor_get_stats(const struct kk_reactor *r, struct kk_reactor_stats *out)
{
    *out = r->stats;
    out->spin_us = __atomic_load_n(&r->spin_us, __ATOMIC_RELAXED);
}
