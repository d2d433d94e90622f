/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vhost-user port with borrowing (pkt_port_set_rx_borrow()): a
 * lib/virtio frontend in this process plays the guest. Large frames arrive
 * as headers plus a lent payload; the guest gets its buffers back only at
 * pkt_port_rx_done(), packets kept past it keep their bytes, and a lent
 * payload sent back out reaches the guest intact.
 */
#include <unistd.h>

#include "kk_test.h"
#include "port.h"
#include "vhu_frontend.h"

#define QSIZE 64
#define HDR 12 /* virtio-net header with VERSION_1 */
#define RXBUF 2048

struct guest {
    struct vhu_front *f;
    struct vqd *rxq, *txq; /* the guest's: queue 0 receives, queue 1 transmits */
    uint8_t *tx_bufs, *rx_bufs;
};

static void guest_connect(const char *path, struct guest *g)
{
    struct vhu_front_opts o = {.path = path, .num_queues = 2, .queue_size = QSIZE,
                               .mem_size = 4u << 20};
    int rc = -1;
    for (int t = 0; t < 200 && rc < 0; t++) {
        rc = vhu_front_connect(&o, &g->f);
        if (rc < 0)
            usleep(10000);
    }
    assert_int_equal(rc, 0);
    g->rxq = vhu_front_queue(g->f, 0);
    g->txq = vhu_front_queue(g->f, 1);
    vqd_enable_interrupts(g->rxq, false);
    vqd_enable_interrupts(g->txq, false);
    g->tx_bufs = vhu_front_alloc(g->f, (size_t)QSIZE * RXBUF, 64);
    g->rx_bufs = vhu_front_alloc(g->f, (size_t)QSIZE * RXBUF, 64);
    assert_non_null(g->tx_bufs);
    assert_non_null(g->rx_bufs);
}

/* Frame @i of @len bytes: addresses, an experimental EtherType, a pattern. */
static void fill_frame(uint8_t *f, uint32_t len, unsigned i)
{
    static const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
    memcpy(f, macs, 12);
    f[12] = 0x88;
    f[13] = 0xb5;
    for (uint32_t k = 14; k < len; k++)
        f[k] = (uint8_t)(k * 7 + i * 13);
}

/* The guest sends frame i (of lens[i] bytes) from its buffer i. */
static void guest_send(struct guest *g, const uint32_t *lens, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t *b = g->tx_bufs + (size_t)i * RXBUF;
        memset(b, 0, HDR);
        fill_frame(b + HDR, lens[i], i);
        struct vqd_buf vb = {vhu_front_gpa(g->f, b), HDR + lens[i], false};
        assert_int_equal(vqd_add(g->txq, &vb, 1, (void *)(uintptr_t)(i + 1)), 0);
    }
    vhu_front_kick(g->f, 1);
}

static unsigned guest_tx_done(struct guest *g)
{
    void *cookie;
    uint32_t len;
    unsigned n = 0;
    while (vqd_get_used(g->txq, &cookie, &len) == 1)
        n++;
    return n;
}

static struct pkt_port *open_port(const char *path, struct pkt_pool *pool)
{
    char spec[300], err[256];
    snprintf(spec, sizeof(spec), "vhost-user:path=%s,server=1", path);
    struct pkt_port *p;
    assert_int_equal(pkt_port_open(spec, 0, pool, &p, err, sizeof(err)), 0);
    assert_true(pkt_port_can_borrow(p));
    return p;
}

/* Receive until @want packets came (the queue starts asynchronously). */
static unsigned rx_all(struct pkt_port *p, struct pkt_buf **bufs, unsigned want)
{
    unsigned got = 0;
    for (int t = 0; t < 2000 && got < want; t++) {
        unsigned k = pkt_port_rx_burst(p, 0, bufs + got, (uint16_t)(want - got));
        got += k;
        if (!k)
            usleep(1000);
    }
    return got;
}

static void check_frame(const struct pkt_buf *b, uint32_t len, unsigned i)
{
    uint8_t want[RXBUF], have[RXBUF];
    fill_frame(want, len, i);
    assert_int_equal(b->pkt_len, len);
    assert_int_equal(pkt_read(b, 0, have, len), len);
    assert_memory_equal(have, want, len);
}

/* A port with a connected guest. */
struct rig {
    char *dir;
    struct pkt_pool *pool;
    uint32_t total; /* the pool's buffers */
    struct pkt_port *p;
    struct guest g;
};

static void rig_up(struct rig *r, bool borrow)
{
    char path[256];
    r->dir = kk_test_mkdtemp();
    snprintf(path, sizeof(path), "%s/v.sock", r->dir);
    assert_int_equal(pkt_pool_create("vb", 1024, 0, 0, &r->pool), 0);
    r->total = pkt_pool_avail(r->pool);
    r->p = open_port(path, r->pool);
    pkt_port_set_rx_borrow(r->p, borrow);
    guest_connect(path, &r->g);
}

static void rig_down(struct rig *r)
{
    vhu_front_close(r->g.f);
    pkt_port_close(r->p);
    pkt_pool_destroy(r->pool);
    kk_test_rmdir(r->dir);
}

static void test_large_frames_are_lent_until_rx_done(void **state)
{
    struct rig r;
    rig_up(&r, true);
    struct pkt_port *p = r.p;
    struct guest g = r.g;
    /* A burst that starts large (borrowing applies), with a small frame and
     * one of exactly the borrowing threshold among them. */
    static const uint32_t lens[] = {1514, 60, 512, 1000, 1514, 511};
    unsigned n = KK_ARRAY_SIZE(lens);
    guest_send(&g, lens, n);
    struct pkt_buf *bufs[8];
    /* Let the whole burst arrive before the first rx. */
    usleep(20000);
    assert_int_equal(rx_all(p, bufs, n), n);
    for (unsigned i = 0; i < n; i++) {
        check_frame(bufs[i], lens[i], i);
        if (lens[i] >= 512) {
            assert_int_equal(bufs[i]->nb_segs, 2);
            assert_true(bufs[i]->next->flags & PKT_F_BORROWED);
        } else {
            assert_int_equal(bufs[i]->nb_segs, 1);
        }
    }
    /* Lent: the guest has none of its buffers back yet. */
    usleep(10000);
    assert_int_equal(guest_tx_done(&g), 0);
    /* Some packets are freed before rx_done, some kept past it. */
    pkt_free(bufs[1]);
    pkt_free(bufs[3]);
    pkt_port_rx_done(p, 0);
    assert_int_equal(guest_tx_done(&g), n);
    /* The guest reuses its buffers: the kept packets have their own copy. */
    memset(g.tx_bufs, 0xee, (size_t)n * RXBUF);
    for (unsigned i = 0; i < n; i++) {
        if (i == 1 || i == 3)
            continue;
        check_frame(bufs[i], lens[i], i);
        if (bufs[i]->next)
            assert_false(bufs[i]->next->flags & PKT_F_BORROWED);
    }
    for (unsigned i = 0; i < n; i++)
        if (i != 1 && i != 3)
            pkt_free(bufs[i]);
    pkt_pool_flush_thread_cache(r.pool);
    assert_int_equal(pkt_pool_avail(r.pool), r.total);
    rig_down(&r);
}

/* A lent payload goes straight back out to the guest (one copy), intact;
 * then its buffers return. Without borrowing frames arrive whole. */
static void run_echo(bool borrow)
{
    struct rig r;
    rig_up(&r, borrow);
    struct pkt_port *p = r.p;
    struct guest g = r.g;
    for (unsigned i = 0; i < 8; i++) {
        struct vqd_buf vb = {vhu_front_gpa(g.f, g.rx_bufs + (size_t)i * RXBUF), RXBUF, true};
        assert_int_equal(vqd_add(g.rxq, &vb, 1, g.rx_bufs + (size_t)i * RXBUF), 0);
    }
    vhu_front_kick(g.f, 0);
    static const uint32_t lens[] = {1514, 700, 1514, 64};
    unsigned n = KK_ARRAY_SIZE(lens);
    guest_send(&g, lens, n);
    usleep(20000);
    struct pkt_buf *bufs[8];
    assert_int_equal(rx_all(p, bufs, n), n);
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(bufs[i]->nb_segs, borrow && lens[i] >= 512 ? 2 : 1);
    unsigned sent = 0;
    for (int t = 0; t < 200 && sent < n; t++) {
        sent += pkt_port_tx_burst(p, 0, bufs + sent, (uint16_t)(n - sent));
        if (sent < n)
            usleep(1000);
    }
    assert_int_equal(sent, n);
    pkt_port_rx_done(p, 0);
    assert_int_equal(guest_tx_done(&g), n);
    for (unsigned i = 0; i < n; i++) {
        void *cookie = NULL;
        uint32_t len = 0;
        assert_int_equal(vqd_get_used(g.rxq, &cookie, &len), 1);
        assert_int_equal(len, HDR + lens[i]);
        uint8_t want[RXBUF];
        fill_frame(want, lens[i], i);
        assert_memory_equal((uint8_t *)cookie + HDR, want, lens[i]);
    }
    pkt_pool_flush_thread_cache(r.pool);
    assert_int_equal(pkt_pool_avail(r.pool), r.total);
    rig_down(&r);
}

static void test_lent_payload_echoes_intact(void **state)
{
    run_echo(true);
}

static void test_without_borrowing_frames_are_copied_whole(void **state)
{
    run_echo(false);
}

/* A caller that forgets rx_done: the next burst closes the open one. */
static void test_next_burst_closes_a_forgotten_one(void **state)
{
    struct rig r;
    rig_up(&r, true);
    struct pkt_port *p = r.p;
    struct guest g = r.g;
    static const uint32_t lens[] = {1514, 1514};
    guest_send(&g, lens, 2);
    usleep(20000);
    struct pkt_buf *bufs[2];
    assert_int_equal(rx_all(p, bufs, 2), 2);
    assert_int_equal(guest_tx_done(&g), 0);
    /* No rx_done: an empty burst returns the buffers, copying what is held. */
    assert_int_equal(pkt_port_rx_burst(p, 0, bufs + 1, 0), 0);
    assert_int_equal(guest_tx_done(&g), 2);
    memset(g.tx_bufs, 0, 2 * RXBUF);
    check_frame(bufs[0], 1514, 0);
    check_frame(bufs[1], 1514, 1);
    pkt_free(bufs[0]);
    pkt_free(bufs[1]);
    rig_down(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_large_frames_are_lent_until_rx_done),
        cmocka_unit_test(test_lent_payload_echoes_intact),
        cmocka_unit_test(test_without_borrowing_frames_are_copied_whole),
        cmocka_unit_test(test_next_burst_closes_a_forgotten_one),
    };
    return cmocka_run_group_tests_name("vhost-user port, borrowing", tests, NULL, NULL);
}
