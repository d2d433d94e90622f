/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kk_reactor.h"
#include "kk_test.h"

static struct kk_reactor *make(enum kk_reactor_mode mode)
{
    struct kk_reactor_opts o;
    kk_reactor_opts_init(&o);
    o.mode = mode;
    o.name = "test";
    struct kk_reactor *r = NULL;
    assert_int_equal(kk_reactor_create(&o, &r), 0);
    return r;
}

static void test_create_rejects_bad_options(void **state)
{
    struct kk_reactor_opts o;
    kk_reactor_opts_init(&o);
    struct kk_reactor *r = NULL;
    o.msg_capacity = 0;
    assert_int_equal(kk_reactor_create(&o, &r), -EINVAL);
    kk_reactor_opts_init(&o);
    o.mode = 7;
    assert_int_equal(kk_reactor_create(&o, &r), -EINVAL);
    assert_int_equal(kk_reactor_create(NULL, NULL), -EINVAL);
    assert_null(r);
    kk_reactor_destroy(NULL);

    r = make(KK_REACTOR_ADAPTIVE);
    struct kk_poller *p;
    struct kk_timer *t;
    struct kk_fd_watch *w;
    assert_int_equal(kk_poller_register(r, NULL, NULL, 0, &p), -EINVAL);
    assert_int_equal(kk_timer_create(r, NULL, NULL, &t), -EINVAL);
    assert_int_equal(kk_fd_watch_add(r, -1, KK_FD_READ, NULL, NULL, &w), -EINVAL);
    assert_int_equal(kk_reactor_send(r, NULL, NULL), -EINVAL);
    assert_int_equal(kk_reactor_join(r), -EINVAL); /* never spawned */
    assert_int_equal(kk_reactor_spawn(r, CPU_SETSIZE), -EINVAL);
    kk_reactor_destroy(r);
}

/* ---- timers ---- */

struct order {
    struct kk_reactor *r;
    int fired[16];
    int n;
    int stop_after;
};

struct tag {
    struct order *o;
    int id;
};

static void record(void *arg)
{
    struct tag *t = arg;
    t->o->fired[t->o->n++] = t->id;
    if (t->o->n == t->o->stop_after)
        kk_reactor_stop(t->o->r);
}

static void test_timers_fire_in_expiry_order(void **state)
{
    struct kk_reactor *r = make(KK_REACTOR_ADAPTIVE);
    struct order o = {.r = r, .stop_after = 5};
    static const uint64_t delays[] = {30000, 10000, 20000, 5000, 20000};
    struct tag tags[5];
    struct kk_timer *t[5];
    for (int i = 0; i < 5; i++) {
        tags[i] = (struct tag){&o, i};
        assert_int_equal(kk_timer_create(r, record, &tags[i], &t[i]), 0);
        assert_int_equal(kk_timer_arm(t[i], delays[i], 0), 0);
        assert_true(kk_timer_armed(t[i]));
    }
    uint64_t start = kk_now_us();
    assert_int_equal(kk_reactor_run(r), 0);
    /* 5 ms, 10 ms, then the two 20 ms timers in arming order, then 30 ms. */
    static const int expect[] = {3, 1, 2, 4, 0};
    assert_int_equal(o.n, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(o.fired[i], expect[i]);
    assert_true(kk_now_us() - start >= 30000); /* never early */
    for (int i = 0; i < 5; i++) {
        assert_false(kk_timer_armed(t[i]));
        kk_timer_destroy(t[i]);
    }
    kk_reactor_destroy(r);
}

static void test_disarm_and_rearm(void **state)
{
    struct kk_reactor *r = make(KK_REACTOR_ADAPTIVE);
    struct order o = {.r = r, .stop_after = 2};
    struct tag a = {&o, 1}, b = {&o, 2}, c = {&o, 3};
    struct kk_timer *ta, *tb, *tc;
    assert_int_equal(kk_timer_create(r, record, &a, &ta), 0);
    assert_int_equal(kk_timer_create(r, record, &b, &tb), 0);
    assert_int_equal(kk_timer_create(r, record, &c, &tc), 0);
    kk_timer_arm(ta, 1000, 0);
    kk_timer_arm(tb, 2000, 0);
    kk_timer_arm(tc, 3000, 0);
    kk_timer_disarm(ta);          /* never fires */
    kk_timer_arm(tb, 20000, 0);   /* moved after c */
    assert_int_equal(kk_reactor_run(r), 0);
    assert_int_equal(o.n, 2);
    assert_int_equal(o.fired[0], 3);
    assert_int_equal(o.fired[1], 2);
    kk_timer_destroy(ta);
    /* tb and tc are left for kk_reactor_destroy() to free (ASan checks). */
    kk_reactor_destroy(r);
}

struct periodic {
    struct kk_reactor *r;
    struct kk_timer *t;
    int count;
};

static void periodic_cb(void *arg)
{
    struct periodic *p = arg;
    if (++p->count == 5) {
        kk_timer_destroy(p->t); /* destroy itself from its callback */
        kk_reactor_stop(p->r);
    }
}

static void test_periodic_timer_destroys_itself(void **state)
{
    struct kk_reactor *r = make(KK_REACTOR_ADAPTIVE);
    struct periodic p = {.r = r};
    assert_int_equal(kk_timer_create(r, periodic_cb, &p, &p.t), 0);
    assert_int_equal(kk_timer_arm(p.t, 1000, 1000), 0);
    assert_int_equal(kk_reactor_run(r), 0);
    assert_int_equal(p.count, 5);
    struct kk_reactor_stats st;
    kk_reactor_get_stats(r, &st);
    assert_int_equal(st.timer_fires, 5);
    kk_reactor_destroy(r);
}

/* ---- messages across threads ---- */

#define MSGS_PER_SENDER 20000

struct msg_state {
    struct kk_reactor *r;
    uint64_t received;           /* touched only on the reactor thread */
    uint32_t last_seq[2];
    bool in_order;
    bool on_reactor_thread;
};

struct msg {
    struct msg_state *s;
    unsigned sender;
    uint32_t seq;
};

static void on_msg(void *arg)
{
    struct msg *m = arg;
    struct msg_state *s = m->s;
    if (kk_reactor_current() != s->r)
        s->on_reactor_thread = false;
    if (m->seq != s->last_seq[m->sender] + 1)
        s->in_order = false;
    s->last_seq[m->sender] = m->seq;
    s->received++;
    free(m);
}

struct sender {
    struct msg_state *s;
    unsigned id;
    uint64_t retries;
};

static void *sender_thread(void *arg)
{
    struct sender *snd = arg;
    for (uint32_t i = 1; i <= MSGS_PER_SENDER; i++) {
        struct msg *m = malloc(sizeof(*m));
        *m = (struct msg){snd->s, snd->id, i};
        while (kk_reactor_send(snd->s->r, on_msg, m) == -ENOMEM) {
            snd->retries++;
            sched_yield();
        }
    }
    return NULL;
}

static void test_messages_cross_threads_in_order(void **state)
{
    struct kk_reactor_opts o;
    kk_reactor_opts_init(&o);
    o.msg_capacity = 64; /* small: senders must also hit -ENOMEM and retry */
    struct kk_reactor *r;
    assert_int_equal(kk_reactor_create(&o, &r), 0);
    struct msg_state s = {.r = r, .in_order = true, .on_reactor_thread = true};
    assert_int_equal(kk_reactor_spawn(r, 0), 0);
    assert_int_equal(kk_reactor_spawn(r, 0), -EBUSY);
    pthread_t t[2];
    struct sender snd[2] = {{&s, 0, 0}, {&s, 1, 0}};
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, sender_thread, &snd[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    /* Messages sent before the stop are all delivered. */
    assert_int_equal(kk_reactor_join(r), 0);
    assert_int_equal(s.received, 2 * MSGS_PER_SENDER);
    assert_true(s.in_order);
    assert_true(s.on_reactor_thread);
    kk_reactor_destroy(r);
}

/* ---- adaptive sleep vs busy poll ---- */

static void count_msg(void *arg)
{
    (*(int *)arg)++;
}

static void count_msg_atomic(void *arg)
{
    __atomic_add_fetch((int *)arg, 1, __ATOMIC_RELAXED);
}

/* Runs a reactor with a 10 ms periodic timer until the timer has fired 3
 * times (however slowly a loaded machine schedules it), then sends it one
 * message and stops it. */
static void run_idle(enum kk_reactor_mode mode, uint64_t idle_us,
                     struct kk_reactor_stats *st, int *fired)
{
    struct kk_reactor_opts o;
    kk_reactor_opts_init(&o);
    o.mode = mode;
    o.idle_us = idle_us;
    o.name = "test";
    struct kk_reactor *r = NULL;
    assert_int_equal(kk_reactor_create(&o, &r), 0);
    struct kk_timer *t;
    int count = 0;
    assert_int_equal(kk_timer_create(r, count_msg_atomic, &count, &t), 0);
    assert_int_equal(kk_timer_arm(t, 10000, 10000), 0);
    assert_int_equal(kk_reactor_spawn(r, -1), 0);
    uint64_t deadline = kk_now_us() + 60000000;
    while (__atomic_load_n(&count, __ATOMIC_RELAXED) < 3 && kk_now_us() < deadline)
        usleep(1000);
    int delivered = 0;
    assert_int_equal(kk_reactor_send(r, count_msg, &delivered), 0);
    assert_int_equal(kk_reactor_join(r), 0);
    assert_int_equal(delivered, 1); /* messages sent before the stop are run */
    *fired = __atomic_load_n(&count, __ATOMIC_RELAXED);
    assert_true(*fired >= 3); /* the periodic timer kept firing while idle */
    kk_reactor_get_stats(r, st);
    kk_reactor_destroy(r);
}

static void test_idle_reactor_sleeps(void **state)
{
    (void)state;
    struct kk_reactor_stats st;
    int fired;
    /* Default spin before sleeping: it sleeps between the timer's firings. */
    run_idle(KK_REACTOR_ADAPTIVE, 100, &st, &fired);
    assert_true(st.sleeps > 0);
    /* No spin: every idle turn sleeps, so the reactor turns a bounded number
     * of times per wake-up (a wake-up's work, then the idle turn that goes
     * back to sleep), not as often as the CPU allows. Counted, not timed. */
    run_idle(KK_REACTOR_ADAPTIVE, 0, &st, &fired);
    assert_true(st.sleeps > 0);
    assert_true(st.turns <= 2 * (st.sleeps + (uint64_t)fired) + 4);
    /* Busy polling never sleeps, and its timers still fire. */
    run_idle(KK_REACTOR_BUSY_POLL, 100, &st, &fired);
    assert_int_equal(st.sleeps, 0);
    assert_true(st.turns > st.busy_turns);
}

struct ticker {
    struct kk_reactor *r;
    int ticks;
};

static void tick_then_stop(void *arg)
{
    struct ticker *t = arg;
    if (++t->ticks == 15)
        kk_reactor_stop(t->r);
}

/* With adapt_idle, a reactor whose wake-ups all come long after it went to
 * sleep (a timer every 20 ms, idle time at most 1 ms) stops spinning. It
 * runs for 15 ticks, however long a loaded machine takes for them. */
static void test_adaptive_idle_shrinks_on_long_sleeps(void **state)
{
    (void)state;
    struct kk_reactor_opts o;
    kk_reactor_opts_init(&o);
    o.idle_us = 1000;
    o.adapt_idle = true;
    struct kk_reactor *r;
    assert_int_equal(kk_reactor_create(&o, &r), 0);
    struct kk_reactor_stats st;
    kk_reactor_get_stats(r, &st);
    assert_int_equal(st.spin_us, 1000);
    struct ticker tk = { .r = r };
    struct kk_timer *tick;
    assert_int_equal(kk_timer_create(r, tick_then_stop, &tk, &tick), 0);
    kk_timer_arm(tick, 20000, 20000);
    kk_reactor_run(r);
    assert_int_equal(tk.ticks, 15);
    kk_reactor_get_stats(r, &st);
    assert_true(st.sleeps >= 10);
    assert_int_equal(st.spin_us, 0); /* 1000 halved at each of >= 10 long sleeps */
    kk_reactor_destroy(r);
}

/* ---- pollers ---- */

struct counting {
    struct kk_reactor *r;
    struct kk_poller *p;
    int calls;
    int limit;
};

static int counting_poller(void *arg)
{
    struct counting *c = arg;
    if (++c->calls == c->limit) {
        kk_poller_unregister(c->p); /* from its own callback */
        kk_reactor_stop(c->r);
    }
    return 1;
}

static void test_poller_runs_until_it_unregisters(void **state)
{
    struct kk_reactor *r = make(KK_REACTOR_ADAPTIVE);
    struct counting c = {.r = r, .limit = 1000};
    assert_int_equal(kk_poller_register(r, counting_poller, &c, 0, &c.p), 0);
    assert_int_equal(kk_reactor_run(r), 0);
    assert_int_equal(c.calls, 1000);
    assert_int_equal(kk_reactor_poll_once(r), 0); /* gone: nothing runs */
    assert_int_equal(c.calls, 1000);
    kk_reactor_destroy(r);
}

static void test_timed_poller(void **state)
{
    struct kk_reactor *r = make(KK_REACTOR_ADAPTIVE);
    struct counting c = {.r = r, .limit = 3};
    assert_int_equal(kk_poller_register(r, counting_poller, &c, 2000, &c.p), 0);
    uint64_t start = kk_now_us();
    assert_int_equal(kk_reactor_run(r), 0);
    assert_int_equal(c.calls, 3);
    assert_true(kk_now_us() - start >= 6000);
    kk_reactor_destroy(r);
}

/* A poller whose work arrives through an eventfd: armable, so the reactor
 * sleeps and the eventfd wakes it. */
struct queue_poller {
    struct kk_reactor *r;
    struct kk_poller *p;
    struct kk_fd_watch *w;
    int efd;
    uint64_t handled;
    uint64_t target;
    int arms, disarms;
};

static int queue_poll(void *arg)
{
    struct queue_poller *q = arg;
    uint64_t v;
    if (read(q->efd, &v, sizeof(v)) != sizeof(v))
        return 0;
    q->handled += v;
    if (q->handled >= q->target)
        kk_reactor_stop(q->r);
    return 1;
}

static bool queue_arm(void *arg, bool enable)
{
    struct queue_poller *q = arg;
    if (enable)
        q->arms++;
    else
        q->disarms++;
    return false;
}

static void queue_kick(void *arg, int fd, unsigned events)
{
    (void)arg;
    (void)fd;
    (void)events; /* the poller consumes the counter on the next turn */
}

static void test_armable_poller_lets_reactor_sleep(void **state)
{
    struct kk_reactor *r = make(KK_REACTOR_ADAPTIVE);
    struct queue_poller q = {.r = r, .target = 3};
    q.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    assert_true(q.efd >= 0);
    assert_int_equal(kk_poller_register(r, queue_poll, &q, 0, &q.p), 0);
    kk_poller_set_arm(q.p, queue_arm);
    assert_int_equal(kk_fd_watch_add(r, q.efd, KK_FD_READ, queue_kick, &q, &q.w), 0);
    assert_int_equal(kk_reactor_spawn(r, -1), 0);
    for (int i = 0; i < 3; i++) {
        usleep(20000); /* let it fall asleep */
        uint64_t one = 1;
        assert_int_equal(write(q.efd, &one, sizeof(one)), sizeof(one));
    }
    /* The third kick makes the poller stop the reactor: wait for that. */
    uint64_t deadline = kk_now_us() + 60000000;
    while (__atomic_load_n(&q.handled, __ATOMIC_RELAXED) < 3 && kk_now_us() < deadline)
        usleep(5000);
    assert_int_equal(kk_reactor_join(r), 0);
    assert_int_equal(q.handled, 3);
    assert_true(q.arms >= 1);
    assert_int_equal(q.arms, q.disarms);
    struct kk_reactor_stats st;
    kk_reactor_get_stats(r, &st);
    assert_true(st.sleeps >= 1);
    kk_reactor_destroy(r);
    close(q.efd);
}

/* ---- fd watchers ---- */

struct pipe_reader {
    struct kk_reactor *r;
    struct kk_fd_watch *w;
    char got[64];
    size_t len;
};

static void pipe_readable(void *arg, int fd, unsigned events)
{
    struct pipe_reader *p = arg;
    assert_true(events & KK_FD_READ);
    ssize_t n = read(fd, p->got + p->len, sizeof(p->got) - 1 - p->len);
    if (n > 0)
        p->len += (size_t)n;
    if (p->len >= 11) {
        kk_fd_watch_remove(p->w); /* from its own callback */
        kk_reactor_stop(p->r);
    }
}

static void test_fd_watch_delivers_data(void **state)
{
    struct kk_reactor *r = make(KK_REACTOR_ADAPTIVE);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    struct pipe_reader p = {.r = r};
    assert_int_equal(kk_fd_watch_add(r, fds[0], KK_FD_READ, pipe_readable, &p, &p.w), 0);
    struct kk_fd_watch *dup;
    assert_int_equal(kk_fd_watch_add(r, fds[0], KK_FD_READ, pipe_readable, &p, &dup), -EEXIST);
    assert_int_equal(write(fds[1], "hello ", 6), 6);
    assert_int_equal(write(fds[1], "world", 5), 5);
    assert_int_equal(kk_reactor_run(r), 0);
    p.got[p.len] = '\0';
    assert_string_equal(p.got, "hello world");
    kk_reactor_destroy(r);
    close(fds[0]);
    close(fds[1]);
}

static void test_run_twice_is_refused_and_current_is_set(void **state)
{
    struct kk_reactor *r = make(KK_REACTOR_ADAPTIVE);
    assert_null(kk_reactor_current());
    assert_string_equal(kk_reactor_name(r), "test");
    assert_int_equal(kk_reactor_spawn(r, -1), 0);
    /* Wait until the thread runs it (a message it has run), however long
     * a loaded machine takes to start the thread. */
    int ran = 0;
    assert_int_equal(kk_reactor_send(r, count_msg_atomic, &ran), 0);
    uint64_t deadline = kk_now_us() + 60000000;
    while (!__atomic_load_n(&ran, __ATOMIC_RELAXED) && kk_now_us() < deadline)
        usleep(1000);
    assert_int_equal(ran, 1);
    assert_int_equal(kk_reactor_run(r), -EBUSY);
    assert_int_equal(kk_reactor_join(r), 0);
    kk_reactor_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_rejects_bad_options),
        cmocka_unit_test(test_timers_fire_in_expiry_order),
        cmocka_unit_test(test_disarm_and_rearm),
        cmocka_unit_test(test_periodic_timer_destroys_itself),
        cmocka_unit_test(test_messages_cross_threads_in_order),
        cmocka_unit_test(test_idle_reactor_sleeps),
        cmocka_unit_test(test_adaptive_idle_shrinks_on_long_sleeps),
        cmocka_unit_test(test_poller_runs_until_it_unregisters),
        cmocka_unit_test(test_timed_poller),
        cmocka_unit_test(test_armable_poller_lets_reactor_sleep),
        cmocka_unit_test(test_fd_watch_delivers_data),
        cmocka_unit_test(test_run_twice_is_refused_and_current_is_set),
    };
    return cmocka_run_group_tests_name("reactor", tests, NULL, NULL);
}
