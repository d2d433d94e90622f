/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The MAC table: refused calls, learn/lookup per VLAN, moves, aging, LRU
 * eviction at the cap, flushes, the change sequence, and concurrent
 * learners (several PMD threads upcalling at once).
 */
#include <errno.h>
#include <pthread.h>

#include "kk_test.h"
#include "mac_learning.h"

static const uint8_t m1[6] = {0, 0, 0, 0, 0, 1}, m2[6] = {0, 0, 0, 0, 0, 2};
static const uint8_t mcast[6] = {1, 0, 0x5e, 0, 0, 1};

static void test_refused(void **state)
{
    (void)state;
    struct sw_mac_table *t;
    assert_int_equal(sw_mac_table_create(0, 1000, &t), -EINVAL);
    assert_int_equal(sw_mac_table_create(10, 0, &t), -EINVAL);
    assert_int_equal(sw_mac_table_create(10, 1000, NULL), -EINVAL);
    assert_int_equal(sw_mac_table_create(10, 1000, &t), 0);
    assert_int_equal(sw_mac_learn(t, 1, mcast, 1, 0), SW_MAC_REFUSED);
    assert_int_equal(sw_mac_learn(t, 1, m1, SW_MAC_PORT_NONE, 0), SW_MAC_REFUSED);
    assert_int_equal(sw_mac_count(t), 0);
    sw_mac_table_destroy(t);
    sw_mac_table_destroy(NULL);
}

static void test_learn_move_age(void **state)
{
    (void)state;
    struct sw_mac_table *t;
    assert_int_equal(sw_mac_table_create(10, 1000, &t), 0);
    uint64_t seq = sw_mac_change_seq(t);
    assert_int_equal(sw_mac_learn(t, 1, m1, 5, 100), SW_MAC_NEW);
    assert_true(sw_mac_change_seq(t) > seq);
    assert_int_equal(sw_mac_lookup(t, 1, m1, 100), 5);
    assert_int_equal(sw_mac_lookup(t, 2, m1, 100), SW_MAC_PORT_NONE); /* other VLAN */
    seq = sw_mac_change_seq(t);
    assert_int_equal(sw_mac_learn(t, 1, m1, 5, 600), SW_MAC_UNCHANGED);
    assert_int_equal(sw_mac_change_seq(t), seq);
    assert_int_equal(sw_mac_learn(t, 1, m1, 6, 700), SW_MAC_MOVED);
    assert_true(sw_mac_change_seq(t) > seq);
    assert_int_equal(sw_mac_lookup(t, 1, m1, 700), 6);
    /* aging: 1000 ms after the last learn */
    assert_int_equal(sw_mac_lookup(t, 1, m1, 1700), 6);
    assert_int_equal(sw_mac_lookup(t, 1, m1, 1701), SW_MAC_PORT_NONE);
    assert_int_equal(sw_mac_expire(t, 1600), 0);
    assert_int_equal(sw_mac_expire(t, 1701), 1);
    assert_int_equal(sw_mac_count(t), 0);
    /* an aged entry relearned counts as new */
    assert_int_equal(sw_mac_learn(t, 1, m2, 1, 2000), SW_MAC_NEW);
    assert_int_equal(sw_mac_learn(t, 1, m2, 1, 3500), SW_MAC_NEW);
    sw_mac_table_destroy(t);
}

static void test_lru_eviction_and_flush(void **state)
{
    (void)state;
    struct sw_mac_table *t;
    assert_int_equal(sw_mac_table_create(4, 100000, &t), 0);
    uint8_t mac[6] = {0, 0, 0, 0, 0, 0};
    for (uint8_t i = 1; i <= 4; i++) {
        mac[5] = i;
        assert_int_equal(sw_mac_learn(t, 0, mac, i, i), SW_MAC_NEW);
    }
    /* refresh 1, so 2 is the least recently used */
    mac[5] = 1;
    sw_mac_learn(t, 0, mac, 1, 10);
    mac[5] = 5;
    assert_int_equal(sw_mac_learn(t, 0, mac, 5, 11), SW_MAC_NEW);
    assert_int_equal(sw_mac_count(t), 4);
    mac[5] = 2;
    assert_int_equal(sw_mac_lookup(t, 0, mac, 12), SW_MAC_PORT_NONE);
    mac[5] = 1;
    assert_int_equal(sw_mac_lookup(t, 0, mac, 12), 1);
    assert_int_equal(sw_mac_flush_port(t, 1), 1);
    assert_int_equal(sw_mac_count(t), 3);
    sw_mac_set_limits(t, 2, 100000, 12);
    assert_int_equal(sw_mac_count(t), 2);
    assert_int_equal(sw_mac_flush(t), 2);
    assert_int_equal(sw_mac_count(t), 0);
    sw_mac_table_destroy(t);
}

struct worker {
    struct sw_mac_table *t;
    unsigned id;
};

static void *learner(void *arg)
{
    struct worker *w = arg;
    uint64_t rng = w->id + 1;
    for (int i = 0; i < 20000; i++) {
        uint8_t mac[6] = {0, 0, 0, 0, (uint8_t)w->id, (uint8_t)(kk_test_rand(&rng) % 64)};
        sw_mac_learn(w->t, (uint16_t)(i % 4), mac, w->id + 1, (uint64_t)i);
        sw_mac_lookup(w->t, (uint16_t)(i % 4), mac, (uint64_t)i);
        if (i % 1000 == 0)
            sw_mac_expire(w->t, (uint64_t)i);
    }
    return NULL;
}

static void test_concurrent_learners(void **state)
{
    (void)state;
    struct sw_mac_table *t;
    assert_int_equal(sw_mac_table_create(200, 1000000, &t), 0);
    pthread_t th[4];
    struct worker w[4];
    for (unsigned i = 0; i < 4; i++) {
        w[i] = (struct worker){t, i};
        pthread_create(&th[i], NULL, learner, &w[i]);
    }
    for (unsigned i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    /* 4 threads x 64 MACs x 4 VLANs = 1024 > 200: capped */
    assert_int_equal(sw_mac_count(t), 200);
    sw_mac_table_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_learn_move_age),
        cmocka_unit_test(test_lru_eviction_and_flush),
        cmocka_unit_test(test_concurrent_learners),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
