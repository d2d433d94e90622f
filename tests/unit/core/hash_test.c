/* SPDX-License-Identifier: Apache-2.0 */
#include <math.h>

#include "kk_hash.h"
#include "kk_test.h"

static void test_deterministic_and_seeded(void **state)
{
    const char *s = "kvmkit flow key";
    assert_true(kk_hash_bytes(s, strlen(s), 1) == kk_hash_bytes(s, strlen(s), 1));
    assert_true(kk_hash_bytes(s, strlen(s), 1) != kk_hash_bytes(s, strlen(s), 2));
    assert_true(kk_hash_u64(5, 0) != kk_hash_u64(6, 0));
    assert_true(kk_hash_combine(1, 2) != kk_hash_combine(2, 1));
}

/* Zero-filled keys of every length 0..256 all hash differently: the length
 * is part of the hash and no tail byte is skipped. */
static void test_lengths_and_every_byte_count(void **state)
{
    uint8_t buf[257] = {0};
    uint64_t seen[257];
    for (size_t len = 0; len <= 256; len++) {
        seen[len] = kk_hash_bytes(buf, len, 0);
        for (size_t k = 0; k < len; k++)
            assert_true(seen[k] != seen[len]);
    }
    /* Changing any single byte of a key changes its hash. */
    for (size_t len = 1; len <= 64; len++) {
        uint64_t base = kk_hash_bytes(buf, len, 7);
        for (size_t i = 0; i < len; i++) {
            buf[i] = 1;
            assert_true(kk_hash_bytes(buf, len, 7) != base);
            buf[i] = 0;
        }
    }
}

/* Flipping one input bit flips about half of the output bits. */
static void test_avalanche(void **state)
{
    uint64_t rng = 1;
    double total = 0;
    int samples = 0;
    for (int iter = 0; iter < 200; iter++) {
        uint8_t key[40];
        for (size_t i = 0; i < sizeof(key); i++)
            key[i] = (uint8_t)kk_test_rand(&rng);
        size_t len = (size_t)(kk_test_rand(&rng) % 40) + 1;
        uint64_t h = kk_hash_bytes(key, len, 0);
        for (size_t bit = 0; bit < len * 8; bit++) {
            key[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            total += __builtin_popcountll(h ^ kk_hash_bytes(key, len, 0));
            samples++;
            key[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
    }
    double avg = total / samples;
    printf("# average flipped bits: %.2f of 64\n", avg);
    assert_true(avg > 30.0 && avg < 34.0);
}

/* Sequential integers (like port numbers or IPs) spread evenly. */
static void test_bucket_distribution(void **state)
{
    enum { BUCKETS = 1024, KEYS = 1024 * 64 };
    static uint32_t count[BUCKETS];
    memset(count, 0, sizeof(count));
    for (uint32_t i = 0; i < KEYS; i++) {
        uint32_t key = 0x0a000000u + i;
        count[kk_hash_bytes(&key, sizeof(key), 0) % BUCKETS]++;
    }
    double expect = (double)KEYS / BUCKETS, chi2 = 0;
    for (int b = 0; b < BUCKETS; b++)
        chi2 += (count[b] - expect) * (count[b] - expect) / expect;
    /* 1023 degrees of freedom: mean 1023, sd ~45; allow a wide margin. */
    printf("# chi-square: %.1f\n", chi2);
    assert_true(chi2 < 1300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic_and_seeded),
        cmocka_unit_test(test_lengths_and_every_byte_count),
        cmocka_unit_test(test_avalanche),
        cmocka_unit_test(test_bucket_distribution),
    };
    return cmocka_run_group_tests_name("hash", tests, NULL, NULL);
}
