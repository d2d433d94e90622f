/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user state that outlives a connection or must reach the frontend:
 * inflight tracking (a backend restarted with requests in flight resumes
 * them, in order, without losing or repeating any) and dirty-page logging
 * (pages the backend writes are marked for migration).
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kk_common.h"
#include "kk_test.h"
#include "vhu.h"
#include "vhu_frontend.h"
#include "vhu_internal.h"

/* A device that pops requests and completes only when told to. */
struct holder {
    struct vhu_dev *dev;
    struct vq_chain held[32];
    struct iovec iov[128];
    unsigned n_held;
    unsigned iov_used;
    int resubmitted;
    bool started;
};

static void holder_start(void *ctx, struct vhu_queue *q)
{
    struct holder *h = ctx;
    h->started = true;
    /* Requests an earlier backend left unfinished come first. */
    int n = vhu_queue_resubmit(q, h->held + h->n_held, 32 - h->n_held, h->iov + h->iov_used,
                               128 - h->iov_used);
    assert_true(n >= 0);
    for (int i = 0; i < n; i++)
        h->iov_used += h->held[h->n_held + (unsigned)i].n_readable +
                       h->held[h->n_held + (unsigned)i].n_writable;
    h->n_held += (unsigned)n;
    h->resubmitted = n;
}

static void holder_stop(void *ctx, struct vhu_queue *q)
{
    ((struct holder *)ctx)->started = false;
}

static const struct vhu_dev_ops holder_ops = {.queue_start = holder_start,
                                              .queue_stop = holder_stop};

/* Everything runs on one thread: the backend's reactor is turned by hand
 * while the frontend waits. */
static struct kk_reactor *reactor;

static int make_holder(const char *path, struct holder *h)
{
    memset(h, 0, sizeof(*h));
    struct vhu_dev_opts o = {.path = path, .num_queues = 1, .ops = &holder_ops, .ctx = h,
                             .features = VIRTIO_BIT(VIRTIO_F_VERSION_1)};
    return vhu_dev_create(reactor, &o, &h->dev);
}

/* The frontend blocks on replies, so the backend must run concurrently:
 * spawn the reactor thread around frontend calls. */
static void backend_run(void) { assert_int_equal(kk_reactor_spawn(reactor, -1), 0); }
static void backend_pause(void) { assert_int_equal(kk_reactor_join(reactor), 0); }

static void pop_all(struct holder *h)
{
    struct vhu_queue *q = vhu_dev_queue(h->dev, 0);
    for (int t = 0; t < 100; t++) {
        int n = vhu_queue_pop(q, h->held + h->n_held, 32 - h->n_held, h->iov + h->iov_used,
                              128 - h->iov_used);
        assert_true(n >= 0);
        for (int i = 0; i < n; i++) {
            const struct vq_chain *c = &h->held[h->n_held + (unsigned)i];
            h->iov_used += c->n_readable + c->n_writable;
        }
        h->n_held += (unsigned)n;
        if (n == 0)
            break;
    }
}

/* Complete held request @i: write its number into the writable buffer. */
static void complete(struct holder *h, unsigned i)
{
    struct vhu_queue *q = vhu_dev_queue(h->dev, 0);
    const struct vq_chain *c = &h->held[i];
    uint32_t tag;
    memcpy(&tag, c->iov[0].iov_base, 4);
    memcpy(c->iov[c->n_readable].iov_base, &tag, 4);
    vhu_queue_log_write(q, c->iov + c->n_readable, c->n_writable, 4);
    struct vq_used u = {.id = c->id, .desc_count = c->desc_count, .len = 4};
    vhu_queue_push(q, &u, 1);
}

struct req {
    uint32_t tag;
    uint32_t reply;
};

static void add_request(struct vhu_front *f, struct req *r, uint32_t tag)
{
    r->tag = tag;
    r->reply = 0;
    struct vqd_buf b[2] = {{vhu_front_gpa(f, &r->tag), 4, false},
                           {vhu_front_gpa(f, &r->reply), 4, true}};
    assert_int_equal(vqd_add(vhu_front_queue(f, 0), b, 2, r), 0);
    vhu_front_kick(f, 0);
}

/* How the first backend of a scenario dies while completing a request. */
enum crash {
    CRASH_NONE,        /* between requests */
    CRASH_BEFORE_RING, /* tracking updated, completion not yet in the ring */
    CRASH_AFTER_RING,  /* completion in the ring, tracking not yet finished */
};

struct scenario {
    bool packed;
    bool indirect;
    enum crash crash;
};

/* Complete held request @i, but stop where @how says (the process "dies"
 * there: the test destroys the backend next). */
static void complete_until(struct holder *h, unsigned i, enum crash how)
{
    struct vhu_queue *q = vhu_dev_queue(h->dev, 0);
    const struct vq_chain *c = &h->held[i];
    uint32_t tag;
    memcpy(&tag, c->iov[0].iov_base, 4);
    memcpy(c->iov[c->n_readable].iov_base, &tag, 4);
    struct vq_used u = {.id = c->id, .desc_count = c->desc_count, .len = 4};
    if (how == CRASH_NONE) {
        vhu_queue_push(q, &u, 1);
        return;
    }
    vhu__inflight_push_begin(q, &u, 1);
    if (how == CRASH_AFTER_RING)
        vq_push(&q->vq, &u, 1);
}

static uint32_t held_tag(const struct holder *h, unsigned i)
{
    uint32_t tag;
    memcpy(&tag, h->held[i].iov[0].iov_base, 4);
    return tag;
}

/* Collect what the frontend got back: each request exactly once, with its
 * own tag as the reply. */
static unsigned reap(struct vhu_front *f, struct req *reqs, unsigned n_reqs, bool *seen)
{
    unsigned done = 0;
    void *cookie;
    uint32_t len;
    while (vqd_get_used(vhu_front_queue(f, 0), &cookie, &len) == 1) {
        struct req *r = cookie;
        unsigned i = (unsigned)(r - reqs);
        assert_true(i < n_reqs);
        assert_false(seen[i]);
        seen[i] = true;
        assert_int_equal(len, 4);
        assert_int_equal(r->reply, r->tag);
        done++;
    }
    return done;
}

/*
 * Five backends in turn. Each takes everything available (what its
 * predecessor left unfinished comes first, by resubmission), finishes all
 * but one of those and the second and fourth new requests, out of order,
 * and dies with the rest in flight (so a request can outlive two
 * backends); the first dies as @s->crash says. Across them the ring wraps, and completions overwrite ring slots of requests
 * still in flight (only the region's copies still describe those).
 */
static void run_restarts(const struct scenario *s)
{
    char *dir = kk_test_mkdtemp();
    char path[256];
    snprintf(path, sizeof(path), "%s/vhu.sock", dir);
    assert_int_equal(kk_reactor_create(NULL, &reactor), 0);
    struct holder hs[2];
    struct holder *h = &hs[0];
    assert_int_equal(make_holder(path, h), 0);

    backend_run();
    struct vhu_front_opts o = {.path = path, .num_queues = 1, .queue_size = 16,
                               .mem_size = 1 << 20, .inflight = true, .packed = s->packed,
                               .indirect = s->indirect};
    struct vhu_front *f;
    assert_int_equal(vhu_front_connect(&o, &f), 0);
    assert_int_equal(!!(vhu_front_features(f) & VIRTIO_BIT(VIRTIO_F_RING_PACKED)), s->packed);
    enum { GENS = 4, PER_GEN = 4 };
    struct req *reqs = vhu_front_alloc(f, GENS * PER_GEN * sizeof(struct req), 64);
    bool seen[GENS * PER_GEN] = {false};
    uint32_t outstanding[GENS * PER_GEN]; /* tags the next backend must resubmit */
    unsigned n_out = 0, n_reqs = 0, reaped = 0;

    for (unsigned gen = 0; gen < GENS; gen++) {
        for (unsigned k = 0; k < PER_GEN; k++, n_reqs++)
            add_request(f, &reqs[n_reqs], 1000 + n_reqs);
        usleep(50000);
        backend_pause();

        /* Resubmitted first, in order, then the new ones. */
        assert_int_equal(h->resubmitted, n_out);
        for (unsigned i = 0; i < n_out; i++)
            assert_int_equal(held_tag(h, i), outstanding[i]);
        unsigned first_new = h->n_held;
        pop_all(h);
        assert_int_equal(h->n_held, first_new + PER_GEN);

        enum crash how = gen == 0 ? s->crash : CRASH_NONE;
        bool finished[32] = {false};
        for (unsigned i = 0; i + 1 < first_new; i++) { /* all but one handed over */
            complete(h, i);
            finished[i] = true;
        }
        complete(h, first_new + 1);
        complete(h, first_new + 3);
        finished[first_new + 1] = finished[first_new + 3] = true;
        if (how != CRASH_NONE) {
            complete_until(h, first_new + 2, how);
            /* Past the ring update the guest has it: not to be redone. */
            finished[first_new + 2] = how == CRASH_AFTER_RING;
        }
        n_out = 0;
        for (unsigned i = 0; i < h->n_held; i++) {
            if (!finished[i])
                outstanding[n_out++] = held_tag(h, i);
        }
        vhu_dev_destroy(h->dev);
        reaped += reap(f, reqs, n_reqs, seen);

        h = &hs[(gen + 1) % 2];
        assert_int_equal(make_holder(path, h), 0);
        backend_run();
        assert_int_equal(vhu_front_reconnect(f), 0);
    }
    usleep(50000);
    backend_pause();

    /* The last backend finishes everything it was handed. */
    assert_true(h->started);
    assert_int_equal(h->resubmitted, n_out);
    for (unsigned i = 0; i < n_out; i++) {
        assert_int_equal(held_tag(h, i), outstanding[i]);
        complete(h, i);
    }
    reaped += reap(f, reqs, n_reqs, seen);
    assert_int_equal(reaped, n_reqs);

    /* And the ring still works: one more request, popped once. */
    backend_run();
    add_request(f, &reqs[0], 1000);
    usleep(50000);
    backend_pause();
    pop_all(h);
    assert_int_equal(h->n_held, n_out + 1);
    complete(h, n_out);
    seen[0] = false;
    assert_int_equal(reap(f, reqs, n_reqs, seen), 1);

    backend_run();
    vhu_front_close(f);
    usleep(20000);
    backend_pause();
    vhu_dev_destroy(h->dev);
    kk_reactor_destroy(reactor);
    kk_test_rmdir(dir);
}

static void test_inflight_split(void **state)
{
    run_restarts(&(struct scenario){.packed = false});
}

static void test_inflight_split_crash_before_ring(void **state)
{
    run_restarts(&(struct scenario){.packed = false, .crash = CRASH_BEFORE_RING});
}

static void test_inflight_split_crash_after_ring(void **state)
{
    run_restarts(&(struct scenario){.packed = false, .crash = CRASH_AFTER_RING});
}

static void test_inflight_packed(void **state)
{
    run_restarts(&(struct scenario){.packed = true});
}

static void test_inflight_packed_indirect(void **state)
{
    run_restarts(&(struct scenario){.packed = true, .indirect = true});
}

static void test_inflight_packed_crash_before_ring(void **state)
{
    run_restarts(&(struct scenario){.packed = true, .crash = CRASH_BEFORE_RING});
}

static void test_inflight_packed_crash_after_ring(void **state)
{
    run_restarts(&(struct scenario){.packed = true, .crash = CRASH_AFTER_RING});
}

/* A region the frontend (or a dying backend) scribbled over is refused with
 * a log line and started afresh; the backend carries on. */
static void test_inflight_packed_corrupt_region(void **state)
{
    char *dir = kk_test_mkdtemp();
    char path[256];
    snprintf(path, sizeof(path), "%s/vhu.sock", dir);
    assert_int_equal(kk_reactor_create(NULL, &reactor), 0);
    struct holder a, b;
    assert_int_equal(make_holder(path, &a), 0);
    backend_run();
    struct vhu_front_opts o = {.path = path, .num_queues = 1, .queue_size = 16,
                               .mem_size = 1 << 20, .inflight = true, .packed = true};
    struct vhu_front *f;
    assert_int_equal(vhu_front_connect(&o, &f), 0);
    struct req *reqs = vhu_front_alloc(f, 4 * sizeof(struct req), 64);
    for (uint32_t i = 0; i < 3; i++)
        add_request(f, &reqs[i], 100 + i);
    usleep(50000);
    backend_pause();
    pop_all(&a);
    assert_int_equal(a.n_held, 3);

    /* Two buffers claim the same entries: a loop through the free list
     * and a chain running into it. */
    struct vhu_inflight_packed_region *r = vhu_dev_queue(a.dev, 0)->inflight;
    assert_non_null(r);
    assert_int_equal(r->version, 1);
    r->desc[r->free_head].next = r->free_head;
    r->desc[0].num = 3;
    vhu_dev_destroy(a.dev);

    assert_int_equal(make_holder(path, &b), 0);
    backend_run();
    assert_int_equal(vhu_front_reconnect(f), 0);
    usleep(50000);
    backend_pause();
    assert_true(b.started);
    assert_int_equal(b.resubmitted, 0);
    /* Nothing completed yet, so the ring itself still holds the three
     * (from the start the frontend gave): they are taken again. */
    pop_all(&b);
    assert_int_equal(b.n_held, 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(held_tag(&b, i), 100 + i);
        complete(&b, i);
    }
    bool seen[4] = {false};
    assert_int_equal(reap(f, reqs, 3, seen), 3);

    backend_run();
    vhu_front_close(f);
    usleep(20000);
    backend_pause();
    vhu_dev_destroy(b.dev);
    kk_reactor_destroy(reactor);
    kk_test_rmdir(dir);
}

static void test_dirty_pages_are_logged(void **state)
{
    char *dir = kk_test_mkdtemp();
    char path[256];
    snprintf(path, sizeof(path), "%s/vhu.sock", dir);
    assert_int_equal(kk_reactor_create(NULL, &reactor), 0);
    struct holder h;
    assert_int_equal(make_holder(path, &h), 0);
    backend_run();
    struct vhu_front_opts o = {.path = path, .num_queues = 1, .queue_size = 16,
                               .mem_size = 4 << 20};
    struct vhu_front *f;
    assert_int_equal(vhu_front_connect(&o, &f), 0);
    /* One bit per 4 KiB page of the 4 MiB of guest memory. */
    size_t log_size = (4u << 20) / 4096 / 8;
    int log_fd = memfd_create("log", MFD_CLOEXEC);
    assert_int_equal(ftruncate(log_fd, (off_t)log_size), 0);
    uint8_t *log = mmap(NULL, log_size, PROT_READ | PROT_WRITE, MAP_SHARED, log_fd, 0);
    assert_int_equal(vhu_front_start_logging(f, log_fd, log_size), 0);
    /* A request whose reply lands on a page far from everything else. */
    struct req *far = (struct req *)((uint8_t *)vhu_front_mem_base(f) + (3u << 20) + 100);
    add_request(f, far, 7);
    usleep(50000);
    backend_pause();
    pop_all(&h);
    assert_int_equal(h.n_held, 1);
    memset(log, 0, log_size);
    complete(&h, 0);

    uint64_t reply_page = vhu_front_gpa(f, &far->reply) / 4096;
    uint64_t used_page = vhu_front_queue(f, 0)->device_gpa / 4096;
    assert_true(log[reply_page / 8] & (1u << (reply_page % 8)));
    assert_true(log[used_page / 8] & (1u << (used_page % 8)));
    /* Nothing else was marked. */
    unsigned marked = 0;
    for (size_t i = 0; i < log_size; i++)
        marked += (unsigned)__builtin_popcount(log[i]);
    assert_true(marked <= 3); /* the reply page, the used ring (maybe 2 pages) */
    void *cookie;
    uint32_t len;
    assert_int_equal(vqd_get_used(vhu_front_queue(f, 0), &cookie, &len), 1);
    assert_int_equal(((struct req *)cookie)->reply, 7);

    backend_run();
    vhu_front_close(f);
    usleep(20000);
    backend_pause();
    vhu_dev_destroy(h.dev);
    kk_reactor_destroy(reactor);
    munmap(log, log_size);
    close(log_fd);
    kk_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inflight_split),
        cmocka_unit_test(test_inflight_split_crash_before_ring),
        cmocka_unit_test(test_inflight_split_crash_after_ring),
        cmocka_unit_test(test_inflight_packed),
        cmocka_unit_test(test_inflight_packed_indirect),
        cmocka_unit_test(test_inflight_packed_crash_before_ring),
        cmocka_unit_test(test_inflight_packed_crash_after_ring),
        cmocka_unit_test(test_inflight_packed_corrupt_region),
        cmocka_unit_test(test_dirty_pages_are_logged),
    };
    return cmocka_run_group_tests_name("vhost-user state", tests, NULL, NULL);
}
