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

/* A segment lending @len bytes of @mem, as a port does (vhost-user). */
static struct pkt_buf *lend(struct pkt_pool *pool, uint8_t *mem, uint32_t len)
{
    struct pkt_buf *t = pkt_alloc(pool);
    assert_non_null(t);
    t->base = mem;
    t->data_off = 0;
    t->data_len = t->buf_size = len;
    t->flags = PKT_F_BORROWED;
    t->borrow_tag = 7;
    return t;
}

static void test_borrowed_segments(void **state)
{
    struct pkt_pool *pool;
    assert_int_equal(pkt_pool_create("t", 64, 0, 8, &pool), 0);
    uint8_t mem[1500], want[1600];
    for (unsigned i = 0; i < sizeof(mem); i++)
        mem[i] = (uint8_t)(i * 31 + 5);
    /* 40 bytes of headers of its own, 1200 lent, 60 more of its own. */
    struct pkt_buf *b = pkt_alloc(pool);
    memset(pkt_append(b, 40), 0x11, 40);
    pkt_chain(b, lend(pool, mem, 1200));
    struct pkt_buf *c = pkt_from_bytes(pool, mem + 1200, 60);
    pkt_chain(b, c);
    assert_int_equal(b->pkt_len, 1300);
    assert_int_equal(b->nb_segs, 3);
    memset(want, 0x11, 40);
    memcpy(want + 40, mem, 1260);
    uint8_t got[1600];
    assert_int_equal(pkt_read(b, 0, got, 1300), 1300);
    assert_memory_equal(got, want, 1300);

    /* Pull-up takes lent bytes into the first segment; the lent segment
     * shrinks, still lent. */
    assert_int_equal(pkt_pullup(b, 300), 300);
    assert_int_equal(b->nb_segs, 3);
    assert_true(b->next->flags & PKT_F_BORROWED);
    assert_int_equal(b->next->data_len, 940);
    assert_int_equal(pkt_read(b, 0, got, 1300), 1300);
    assert_memory_equal(got, want, 1300);
    /* Unborrowing copies the rest: the lender's memory is free again. */
    pkt_make_writable(b);
    assert_false(b->next->flags & PKT_F_BORROWED);
    memset(mem, 0, sizeof(mem));
    assert_int_equal(pkt_read(b, 0, got, 1300), 1300);
    assert_memory_equal(got, want, 1300);
    /* Pull-up past a segment's end frees it; past the packet stops there. */
    assert_int_equal(pkt_pullup(b, 5000), 1300);
    assert_int_equal(b->nb_segs, 1);
    assert_null(b->next);
    assert_int_equal(pkt_read(b, 0, got, 1300), 1300);
    assert_memory_equal(got, want, 1300);
    pkt_free(b);

    /* A packet freed while lent: its segment's own buffer comes back whole
     * (bulk and one by one), and every buffer returns to the pool. */
    struct pkt_buf *pk[4];
    for (int i = 0; i < 4; i++) {
        pk[i] = pkt_alloc(pool);
        pkt_append(pk[i], 10);
        pkt_chain(pk[i], lend(pool, mem, 500));
    }
    pkt_free_bulk(pk, 3);
    pkt_free(pk[3]);
    struct pkt_buf *all[64];
    pkt_pool_flush_thread_cache(pool);
    assert_int_equal(pkt_pool_avail(pool), 64);
    assert_int_equal(pkt_alloc_bulk(pool, all, 64), 0);
    for (int i = 0; i < 64; i++) {
        assert_int_equal(all[i]->flags, 0);
        assert_ptr_equal(all[i]->base, (uint8_t *)all[i] + PKT_BUF_HDR_SIZE);
        assert_int_equal(pkt_tailroom(all[i]), PKT_DEFAULT_DATA_ROOM);
    }
    pkt_free_bulk(all, 64);
    pkt_pool_flush_thread_cache(pool);
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
        cmocka_unit_test(test_borrowed_segments),
        cmocka_unit_test(test_bad_pool_options),
    };
    return cmocka_run_group_tests_name("pkt buffers", tests, NULL, NULL);
}
