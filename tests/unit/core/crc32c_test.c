/* SPDX-License-Identifier: Apache-2.0 */
#include "kk_crc32c.h"
#include "kk_test.h"

static void test_known_vectors(void **state)
{
    uint8_t buf[32];
    assert_int_equal(kk_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(kk_crc32c_sw(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(kk_crc32c(0, "", 0), 0);
    /* iSCSI test patterns (RFC 3720, B.4). */
    memset(buf, 0, sizeof(buf));
    assert_int_equal(kk_crc32c(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, sizeof(buf));
    assert_int_equal(kk_crc32c(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    assert_int_equal(kk_crc32c(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    assert_int_equal(kk_crc32c(0, buf, 32), 0x113FDB5Cu);
}

static void test_hw_and_sw_agree_and_chain(void **state)
{
    uint8_t data[4096 + 8];
    uint64_t rng = 42;
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)kk_test_rand(&rng);
    for (int iter = 0; iter < 2000; iter++) {
        size_t off = kk_test_rand(&rng) % 8;
        size_t len = kk_test_rand(&rng) % 4096;
        uint32_t seed = (uint32_t)kk_test_rand(&rng);
        uint32_t a = kk_crc32c(seed, data + off, len);
        assert_int_equal(a, kk_crc32c_sw(seed, data + off, len));
        size_t split = len ? kk_test_rand(&rng) % len : 0;
        uint32_t b = kk_crc32c(kk_crc32c(seed, data + off, split), data + off + split, len - split);
        assert_int_equal(a, b);
    }
    printf("# crc32c hardware: %s\n", kk_crc32c_hw_available() ? "yes" : "no");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vectors),
        cmocka_unit_test(test_hw_and_sw_agree_and_chain),
    };
    return cmocka_run_group_tests_name("crc32c", tests, NULL, NULL);
}
