/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The backend request channel (VHOST_USER_PROTOCOL_F_BACKEND_REQ): a
 * frontend hands the backend a socket with SET_BACKEND_REQ_FD, and the
 * backend announces config-space changes on it (CONFIG_CHANGE_MSG). Also
 * the frontend's "as many queues as the backend has" mode. Negative cases
 * first: the request without the feature, a descriptor that is not a
 * socket, announcing with no channel or no frontend.
 */
#include <errno.h>
#include <semaphore.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kk_common.h"
#include "kk_reactor.h"
#include "kk_test.h"
#include "vhu.h"
#include "vhu_frontend.h"

struct world {
    char *dir;
    char path[256];
    struct kk_reactor *r;
    struct vhu_dev *dev;
    uint64_t capacity;   /* the config space: 8 bytes, written on the reactor */
    int started;
};

static int get_config(void *ctx, uint8_t *buf, uint32_t offset, uint32_t len)
{
    struct world *w = ctx;
    uint8_t cfg[16] = {0};
    memcpy(cfg, &w->capacity, 8);
    if (offset + len > sizeof(cfg))
        return -EINVAL;
    memcpy(buf, cfg + offset, len);
    return 0;
}

static void queue_start(void *ctx, struct vhu_queue *q) { ((struct world *)ctx)->started++; }
static void queue_stop(void *ctx, struct vhu_queue *q) { ((struct world *)ctx)->started--; }

static const struct vhu_dev_ops ops = {
    .queue_start = queue_start, .queue_stop = queue_stop, .get_config = get_config};

/* Run @fn on the reactor thread and wait for it. */
struct call {
    void (*fn)(struct world *w, int *rc);
    struct world *w;
    int rc;
    sem_t done;
};

static void call_cb(void *arg)
{
    struct call *c = arg;
    c->fn(c->w, &c->rc);
    sem_post(&c->done);
}

static int run_on_reactor(struct world *w, void (*fn)(struct world *w, int *rc))
{
    struct call c = {.fn = fn, .w = w};
    sem_init(&c.done, 0, 0);
    assert_int_equal(kk_reactor_send(w->r, call_cb, &c), 0);
    sem_wait(&c.done);
    sem_destroy(&c.done);
    return c.rc;
}

static void announce(struct world *w, int *rc) { *rc = vhu_dev_config_changed(w->dev); }
static void grow(struct world *w, int *rc)
{
    w->capacity *= 2;
    *rc = vhu_dev_config_changed(w->dev);
}

static void setup(struct world *w, bool offer, uint16_t queues)
{
    memset(w, 0, sizeof(*w));
    w->dir = kk_test_mkdtemp();
    w->capacity = 2048;
    snprintf(w->path, sizeof(w->path), "%s/vhu.sock", w->dir);
    assert_int_equal(kk_reactor_create(NULL, &w->r), 0);
    uint64_t proto = VIRTIO_BIT(VHU_PROTOCOL_F_CONFIG);
    if (offer)
        proto |= VIRTIO_BIT(VHU_PROTOCOL_F_BACKEND_REQ);
    struct vhu_dev_opts o = {.path = w->path, .num_queues = queues, .protocol_features = proto,
                             .ops = &ops, .ctx = w};
    assert_int_equal(vhu_dev_create(w->r, &o, &w->dev), 0);
    assert_int_equal(kk_reactor_spawn(w->r, -1), 0);
}

static void destroy_dev(struct world *w, int *rc)
{
    vhu_dev_destroy(w->dev);
    w->dev = NULL;
    *rc = 0;
}

static void teardown(struct world *w)
{
    run_on_reactor(w, destroy_dev);
    kk_reactor_join(w->r);
    kk_reactor_destroy(w->r);
    kk_test_rmdir(w->dir);
}

static struct vhu_front *connect_front(struct world *w, bool backend_req, uint16_t queues)
{
    struct vhu_front_opts o = {.path = w->path, .num_queues = queues, .mem_size = 1 << 20,
                               .backend_req = backend_req};
    struct vhu_front *f = NULL;
    int rc = -1;
    for (int t = 0; t < 100 && rc < 0; t++) {
        rc = vhu_front_connect(&o, &f);
        if (rc < 0)
            usleep(10000); /* the previous connection may still be closing */
    }
    assert_int_equal(rc, 0);
    return f;
}

static void test_request_without_the_feature_is_refused(void **state)
{
    struct world w;
    setup(&w, false, 1);
    struct vhu_front_opts o = {.path = w.path, .num_queues = 1, .mem_size = 1 << 20};
    struct vhu_front *f;
    assert_int_equal(vhu_front_connect_raw(&o, &f), 0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    struct vhu_msg m = {.request = VHU_SET_BACKEND_REQ_FD, .flags = VHU_VERSION};
    assert_int_equal(vhu_front_send(f, &m, &sv[1], 1), 0);
    assert_true(vhu_front_backend_hung_up(f));
    close(sv[0]);
    close(sv[1]);
    vhu_front_close(f);
    teardown(&w);
}

static void test_descriptor_that_is_not_a_socket_is_refused(void **state)
{
    struct world w;
    setup(&w, true, 1);
    struct vhu_front_opts o = {.path = w.path, .num_queues = 1, .mem_size = 1 << 20};
    struct vhu_front *f;
    assert_int_equal(vhu_front_connect_raw(&o, &f), 0);
    struct vhu_msg m = {.request = VHU_SET_FEATURES, .flags = VHU_VERSION, .size = 8};
    m.p.u64 = VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
    assert_int_equal(vhu_front_send(f, &m, NULL, 0), 0);
    m = (struct vhu_msg){.request = VHU_SET_PROTOCOL_FEATURES, .flags = VHU_VERSION, .size = 8};
    m.p.u64 = VIRTIO_BIT(VHU_PROTOCOL_F_BACKEND_REQ);
    assert_int_equal(vhu_front_send(f, &m, NULL, 0), 0);
    int efd = eventfd(0, EFD_CLOEXEC);
    m = (struct vhu_msg){.request = VHU_SET_BACKEND_REQ_FD, .flags = VHU_VERSION};
    assert_int_equal(vhu_front_send(f, &m, &efd, 1), 0);
    assert_true(vhu_front_backend_hung_up(f));
    close(efd);
    vhu_front_close(f);
    teardown(&w);
}

static void test_announce_without_channel_or_frontend(void **state)
{
    struct world w;
    setup(&w, true, 1);
    assert_int_equal(run_on_reactor(&w, announce), -ENOTCONN);
    /* Connected, but the frontend did not ask for the channel. */
    struct vhu_front *f = connect_front(&w, false, 1);
    assert_false(vhu_front_protocol_features(f) & VIRTIO_BIT(VHU_PROTOCOL_F_BACKEND_REQ));
    assert_int_equal(run_on_reactor(&w, announce), -ENOTSUP);
    struct vhu_msg req;
    assert_int_equal(vhu_front_recv_backend_req(f, &req, 10), -ENOTSUP);
    vhu_front_close(f);
    teardown(&w);

    /* A device that does not offer it: the frontend gets no channel. */
    setup(&w, false, 1);
    f = connect_front(&w, true, 1);
    assert_false(vhu_front_protocol_features(f) & VIRTIO_BIT(VHU_PROTOCOL_F_BACKEND_REQ));
    assert_int_equal(run_on_reactor(&w, announce), -ENOTSUP);
    vhu_front_close(f);
    teardown(&w);
}

static void test_config_change_is_announced(void **state)
{
    struct world w;
    setup(&w, true, 1);
    struct vhu_front *f = connect_front(&w, true, 1);
    assert_true(vhu_front_protocol_features(f) & VIRTIO_BIT(VHU_PROTOCOL_F_BACKEND_REQ));
    uint64_t cap = 0;
    assert_int_equal(vhu_front_get_config(f, 0, &cap, 8), 0);
    assert_int_equal(cap, 2048);
    struct vhu_msg req;
    assert_int_equal(vhu_front_recv_backend_req(f, &req, 10), -ETIMEDOUT); /* nothing yet */
    for (int round = 1; round <= 3; round++) {
        assert_int_equal(run_on_reactor(&w, grow), 0);
        assert_int_equal(vhu_front_recv_backend_req(f, &req, 2000), 0);
        assert_int_equal(req.request, VHU_BACKEND_CONFIG_CHANGE_MSG);
        assert_int_equal(req.size, 0);
        assert_int_equal(req.n_fds, 0);
        assert_int_equal(req.flags & VHU_FLAG_REPLY, 0);
        assert_int_equal(req.flags & VHU_VERSION_MASK, VHU_VERSION);
        assert_int_equal(vhu_front_get_config(f, 0, &cap, 8), 0);
        assert_int_equal(cap, 2048u << round);
    }
    /* The queue kept running through it. */
    assert_int_equal(w.started, 1);
    /* The frontend goes away: the channel goes with it. */
    vhu_front_close(f);
    usleep(50000);
    assert_int_equal(run_on_reactor(&w, announce), -ENOTCONN);
    /* A new frontend gets a new channel. */
    f = connect_front(&w, true, 1);
    assert_int_equal(run_on_reactor(&w, announce), 0);
    assert_int_equal(vhu_front_recv_backend_req(f, &req, 2000), 0);
    assert_int_equal(req.request, VHU_BACKEND_CONFIG_CHANGE_MSG);
    vhu_front_close(f);
    teardown(&w);
}

/* A frontend that closed its end: the send fails, the channel is dropped,
 * the vhost-user connection stays. */
static void test_dead_channel_is_dropped(void **state)
{
    struct world w;
    setup(&w, true, 1);
    struct vhu_front *f = connect_front(&w, true, 1);
    /* A second SET_BACKEND_REQ_FD replaces the channel; its peer end is
     * closed at once. */
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    struct vhu_msg m = {.request = VHU_SET_BACKEND_REQ_FD, .flags = VHU_VERSION};
    assert_int_equal(vhu_front_send(f, &m, &sv[1], 1), 0);
    close(sv[1]);
    close(sv[0]); /* the peer of the backend's new channel is gone */
    usleep(20000);
    assert_int_equal(run_on_reactor(&w, announce), -EPIPE);
    assert_int_equal(run_on_reactor(&w, announce), -ENOTSUP); /* dropped */
    /* The vhost-user connection is still fine. */
    uint64_t cap = 0;
    assert_int_equal(vhu_front_get_config(f, 0, &cap, 8), 0);
    assert_int_equal(cap, 2048);
    vhu_front_close(f);
    teardown(&w);
}

static void test_frontend_takes_the_backends_queue_count(void **state)
{
    struct world w;
    setup(&w, false, 3);
    struct vhu_front *f = connect_front(&w, false, 0);
    assert_int_equal(vhu_front_num_queues(f), 3);
    assert_non_null(vhu_front_queue(f, 2));
    assert_null(vhu_front_queue(f, 3));
    for (int t = 0; t < 200 && __atomic_load_n(&w.started, __ATOMIC_RELAXED) < 3; t++)
        usleep(5000);
    assert_int_equal(w.started, 3);
    vhu_front_close(f);
    teardown(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_without_the_feature_is_refused),
        cmocka_unit_test(test_descriptor_that_is_not_a_socket_is_refused),
        cmocka_unit_test(test_announce_without_channel_or_frontend),
        cmocka_unit_test(test_config_change_is_announced),
        cmocka_unit_test(test_dead_channel_is_dropped),
        cmocka_unit_test(test_frontend_takes_the_backends_queue_count),
    };
    return cmocka_run_group_tests_name("vhost-user backend request channel", tests, NULL, NULL);
}
