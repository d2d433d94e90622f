/* SPDX-License-Identifier: Apache-2.0 */
/* Packet buffers and pools: allocation, chains, per-thread caches. */
#include <pthread.h>

#include "kk_test.h"
#include "pkt.h"

static void test_alloc_free_returns_every_buffer(void **state)
{
    struct pkt_pool *pool;
    assert_int_equal(pkt_pool_create("t", 256, 0, 32, &pool), 0);
    struct pkt_buf *bufs[256];
    assert_int_equal(pkt_alloc_bulk(pool, bufs, 256), 0);
    /* All out: one more fails, and nothing was handed out twice. */
    assert_null(pkt_alloc(pool));
    for (int i = 0; i < 256; i++) {
        assert_int_equal(pkt_headroom(bufs[i]), PKT_HEADROOM);
        assert_int_equal(pkt_tailroom(bufs[i]), PKT_DEFAULT_DATA_ROOM);
        assert_int_equal(bufs[i]->nb_segs, 1);
        for (int j = 0; j < i; j++)
            assert_ptr_not_equal(bufs[i], bufs[j]);
    }
    pkt_free_bulk(bufs, 256);
    pkt_pool_flush_thread_cache(pool);
    assert_int_equal(pkt_pool_avail(pool), 256);
    pkt_pool_destroy(pool);
}

static void test_headroom_and_tailroom(void **state)
{
    struct pkt_pool *pool;
    assert_int_equal(pkt_pool_create("t", 16, 256, 0, &pool), 0);
    struct pkt_buf *b = pkt_alloc(pool);
    if (!b) {
        fail_msg("no buffer from a fresh pool");
        return;
    }
    uint8_t *d = pkt_append(b, 100);
    assert_non_null(d);
    memset(d, 0xab, 100);
    assert_null(pkt_append(b, 157)); /* 256 - 100 = 156 left */
    assert_non_null(pkt_append(b, 156));
    uint8_t *h = pkt_prepend(b, 4);
    assert_ptr_equal(h + 4, d);
    assert_int_equal(b->pkt_len, 260);
    assert_null(pkt_prepend(b, PKT_HEADROOM)); /* only 124 left in front */
    assert_true(pkt_adj(b, 4));
    assert_ptr_equal(pkt_data(b), d);
    assert_false(pkt_adj(b, 1000));
    pkt_free(b);
    pkt_pool_destroy(pool);
}

static void test_chains_read_back_byte_for_byte(void **state)
{
    struct pkt_pool *pool;
    assert_int_equal(pkt_pool_create("t", 64, 512, 0, &pool), 0);
    uint8_t src[3000];
    uint64_t seed = 7;
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)kk_test_rand(&seed);
    struct pkt_buf *b = pkt_from_bytes(pool, src, sizeof(src));
    if (!b) {
        fail_msg("no packet");
        return;
    }
    /* 512 bytes in the first segment, 640 in continuations (they need no
     * headroom): 5 segments. */
    assert_int_equal(b->nb_segs, 5);
    assert_int_equal(b->pkt_len, sizeof(src));
    uint8_t back[3000];
    assert_int_equal(pkt_read(b, 0, back, sizeof(back)), sizeof(src));
    assert_memory_equal(back, src, sizeof(src));
    /* Reads at every offset across segment boundaries. */
    for (uint32_t off = 0; off < sizeof(src); off += 97) {
        uint8_t tmp[200];
        uint32_t want = KK_MIN(200u, (uint32_t)sizeof(src) - off);
        assert_int_equal(pkt_read(b, off, tmp, 200), want);
        assert_memory_equal(tmp, src + off, want);
        const uint8_t *p = pkt_peek(b, off, want, tmp);
        assert_non_null(p);
        assert_memory_equal(p, src + off, want);
    }
    assert_null(pkt_peek(b, 2990, 20, back)); /* past the end */
    /* Chaining another packet's segments behind it. */
    struct pkt_buf *tail = pkt_from_bytes(pool, src, 100);
    pkt_chain(b, tail);
    assert_int_equal(b->pkt_len, 3100);
    assert_int_equal(b->nb_segs, 6);
    assert_int_equal(pkt_read(b, 3000, back, 100), 100);
    assert_memory_equal(back, src, 100);
    pkt_free(b);
    pkt_pool_flush_thread_cache(pool);
    assert_int_equal(pkt_pool_avail(pool), 64);
    /* Out of buffers part way: nothing leaks. */
    struct pkt_buf *hold[60];
    assert_int_equal(pkt_alloc_bulk(pool, hold, 60), 0);
    assert_null(pkt_from_bytes(pool, src, sizeof(src))); /* needs 5, 4 left */
    pkt_free_bulk(hold, 60);
    pkt_pool_flush_thread_cache(pool);
    assert_int_equal(pkt_pool_avail(pool), 64);
    pkt_pool_destroy(pool);
}

struct churn {
    struct pkt_pool *pool;
    unsigned rounds;
    bool ok;
};

static void *churn_main(void *arg)
{
    struct churn *c = arg;
    struct pkt_buf *bufs[32];
    c->ok = true;
    for (unsigned r = 0; r < c->rounds; r++) {
        if (pkt_alloc_bulk(c->pool, bufs, 32) < 0)
            continue; /* other threads hold them: fine */
        for (int i = 0; i < 32; i++) {
            /* Each buffer is ours alone: stamp and check. */
            uint8_t *d = pkt_append(bufs[i], 8);
            if (!d) {
                c->ok = false;
                continue;
            }
            memset(d, i, 8);
            if (pkt_data(bufs[i])[7] != i || bufs[i]->pool != c->pool)
                c->ok = false;
        }
        pkt_free_bulk(bufs, 32);
    }
    return NULL; /* the thread's cache goes back at exit */
}

static void test_threads_share_a_pool(void **state)
{
    struct pkt_pool *pool;
    assert_int_equal(pkt_pool_create("t", 1024, 64, 64, &pool), 0);
    pthread_t t[4];
    struct churn c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (struct churn){.pool = pool, .rounds = 20000};
        pthread_create(&t[i], NULL, churn_main, &c[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_true(c[i].ok);
    }
    /* Every exited thread returned its cache. */
    assert_int_equal(pkt_pool_avail(pool), 1024);
    pkt_pool_destroy(pool);
    /* A new pool (perhaps at the same address) gets a fresh cache here. */
    assert_int_equal(pkt_pool_create("t2", 64, 64, 16, &pool), 0);
    struct pkt_buf *b = pkt_alloc(pool);
    if (!b) {
        fail_msg("no buffer from a fresh pool");
        return;
    }
    assert_ptr_equal(b->pool, pool);
    pkt_free(b);
    pkt_pool_destroy(pool);
}

static void test_bad_pool_options(void **state)
{
    struct pkt_pool *pool;
    assert_int_equal(pkt_pool_create("t", 0, 0, 0, &pool), -EINVAL);
    assert_int_equal(pkt_pool_create("t", 16, 2u << 20, 0, &pool), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_free_returns_every_buffer),
        cmocka_unit_test(test_headroom_and_tailroom),
        cmocka_unit_test(test_chains_read_back_byte_for_byte),
        cmocka_unit_test(test_threads_share_a_pool),
        cmocka_unit_test(test_bad_pool_options),
    };
    return cmocka_run_group_tests_name("pkt buffers", tests, NULL, NULL);
}
