/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Translation: each action's datapath actions and the exact megaflow
 * wildcards; tables, priorities, resubmit and goto_table; NORMAL with
 * learning, flooding per VLAN, access/trunk/native tagging, VLAN
 * isolation, aging and MAC moves; mirrors; bonds; dec_ttl; revalidation;
 * and random rule sets against a naive reference.
 */
#include <errno.h>

#include "kk_common.h"
#include "kk_rcu.h"
#include "kk_test.h"
#include "mac_learning.h"
#include "ofproto.h"

static uint64_t now_ms = 1000000;

static uint64_t test_clock(void *arg)
{
    (void)arg;
    return now_ms;
}

static const uint8_t bridge_mac[6] = {0x02, 0, 0, 0, 0, 0xb0};

static struct sw_ofproto *new_bridge(bool default_flow)
{
    struct sw_ofproto_settings s = {.name = "br0", .now_ms = test_clock,
                                    .no_default_flow = !default_flow};
    memcpy(s.mac, bridge_mac, 6);
    struct sw_ofproto *ofp;
    assert_int_equal(sw_ofproto_create(&s, &ofp), 0);
    return ofp;
}

/* Port "pN" = ofport N = datapath port 10 + N. */
static void add_port(struct sw_ofproto *ofp, unsigned n, enum sw_vlan_mode mode, uint16_t tag,
                     const uint16_t *trunks, size_t n_trunks)
{
    char name[16];
    snprintf(name, sizeof(name), "p%u", n);
    struct sw_port_settings ps = {.name = name, .ofport = n, .vlan_mode = mode, .tag = tag,
                                  .trunks = trunks, .n_trunks = n_trunks, .dp_port = 10 + n};
    uint32_t of = 0;
    assert_int_equal(sw_ofproto_port_add(ofp, &ps, &of), 0);
    assert_int_equal(of, n);
}

static void add_flow(struct sw_ofproto *ofp, const char *text)
{
    char err[256] = "";
    int r = sw_ofproto_add_flow(ofp, text, err, sizeof(err));
    if (r)
        fail_msg("add-flow '%s': %s", text, err);
}

struct result {
    char actions[2048];
    char megaflow[SW_FLOW_FORMAT_MAX];
    struct sw_odp_buf odp;
    struct sw_flow_mask wc;
    struct sw_flow_key key;
    int rc;
};

/* Translate flow text whose in_port is a datapath port. */
static void xlate(struct sw_ofproto *ofp, const char *flow, struct result *res, unsigned flags)
{
    struct sw_flow_mask m;
    char err[256];
    if (sw_flow_parse(flow, &res->key, &m, err, sizeof(err)))
        fail_msg("flow '%s': %s", flow, err);
    sw_odp_buf_init(&res->odp);
    memset(&res->wc, 0, sizeof(res->wc));
    res->rc = sw_ofproto_xlate(ofp, &res->key, NULL, &res->odp, &res->wc, flags, NULL);
    sw_odp_format(res->odp.data, res->odp.len, res->actions, sizeof(res->actions), NULL, NULL);
    sw_flow_format(&res->key, &res->wc, res->megaflow, sizeof(res->megaflow));
}

#define CHECK(ofp, flow, exp_actions, exp_megaflow)                                           \
    do {                                                                                      \
        struct result r_;                                                                     \
        xlate((ofp), (flow), &r_, 0);                                                         \
        assert_int_equal(r_.rc, 0);                                                           \
        assert_string_equal(r_.actions, (exp_actions));                                       \
        if ((exp_megaflow) != NULL)                                                           \
            assert_string_equal(r_.megaflow, (const char *)(exp_megaflow));                   \
    } while (0)

#define A "00:00:00:00:00:0a"
#define B "00:00:00:00:00:0b"
#define C "00:00:00:00:00:0c"

/* ---- NORMAL ---- */

static void test_normal_learning_and_flooding(void **state)
{
    (void)state;
    struct sw_ofproto *ofp = new_bridge(true);
    for (unsigned n = 1; n <= 4; n++)
        add_port(ofp, n, SW_VLAN_MODE_TRUNK, 0, NULL, 0);
    uint64_t seq = sw_ofproto_change_seq(ofp);

    /* unknown destination: flood to every other port; dl_src/dl_dst/vlan pinned */
    CHECK(ofp, "in_port=11,dl_src=" A ",dl_dst=" B ",ip,nw_src=1.1.1.1", "12,13,14",
          "in_port=11,dl_src=" A ",dl_dst=" B ",vlan_tci=0x0000");
    assert_true(sw_ofproto_change_seq(ofp) != seq); /* A learned */
    /* the reply goes to A's port only */
    CHECK(ofp, "in_port=12,dl_src=" B ",dl_dst=" A, "11",
          "in_port=12,dl_src=" B ",dl_dst=" A ",vlan_tci=0x0000");
    CHECK(ofp, "in_port=11,dl_src=" A ",dl_dst=" B, "12", NULL);
    /* broadcast floods even when known */
    CHECK(ofp, "in_port=11,dl_src=" A ",dl_dst=ff:ff:ff:ff:ff:ff", "12,13,14", NULL);
    /* destination learned on the input port: drop */
    CHECK(ofp, "in_port=12,dl_src=" C ",dl_dst=" B, "drop", NULL);
    /* reserved multicast (STP, LACP addresses): drop, only dl_dst pinned */
    CHECK(ofp, "in_port=11,dl_src=" A ",dl_dst=01:80:c2:00:00:00", "drop",
          "in_port=11,dl_dst=01:80:c2:00:00:00");
    /* B moves to port 3: the sequence moves, A->B follows */
    seq = sw_ofproto_change_seq(ofp);
    CHECK(ofp, "in_port=13,dl_src=" B ",dl_dst=ff:ff:ff:ff:ff:ff", "11,12,14", NULL);
    assert_true(sw_ofproto_change_seq(ofp) != seq);
    CHECK(ofp, "in_port=11,dl_src=" A ",dl_dst=" B, "13", NULL);
    /* a refresh does not move it */
    seq = sw_ofproto_change_seq(ofp);
    CHECK(ofp, "in_port=13,dl_src=" B ",dl_dst=" A, "11", NULL);
    assert_true(sw_ofproto_change_seq(ofp) == seq);

    /* aging: 300 s default */
    now_ms += 301 * 1000;
    CHECK(ofp, "in_port=12,dl_src=" C ",dl_dst=" B, "11,13,14", NULL);
    sw_ofproto_run(ofp, NULL, NULL);
    char buf[512];
    sw_ofproto_fdb_show(ofp, buf, sizeof(buf));
    assert_string_equal(buf, " port  VLAN  MAC                Age\n"
                             "    2     0  00:00:00:00:00:0c    0\n");
    sw_ofproto_fdb_flush(ofp);
    sw_ofproto_fdb_show(ofp, buf, sizeof(buf));
    assert_string_equal(buf, " port  VLAN  MAC                Age\n");
    sw_ofproto_destroy(ofp);
}

static void test_normal_vlans(void **state)
{
    (void)state;
    struct sw_ofproto *ofp = new_bridge(true);
    const uint16_t t1020[] = {10, 20};
    add_port(ofp, 1, SW_VLAN_MODE_ACCESS, 10, NULL, 0);
    add_port(ofp, 2, SW_VLAN_MODE_ACCESS, 20, NULL, 0);
    add_port(ofp, 3, SW_VLAN_MODE_TRUNK, 0, t1020, 2);
    add_port(ofp, 4, SW_VLAN_MODE_ACCESS, 10, NULL, 0);
    add_port(ofp, 5, SW_VLAN_MODE_NATIVE_UNTAGGED, 10, t1020, 2);
    add_port(ofp, 6, SW_VLAN_MODE_NATIVE_TAGGED, 20, NULL, 0);

    /* untagged on access 10: tagged to the trunk, untagged to access 10 and
     * native-untagged 10, tagged to native-tagged (all VLANs); never VLAN 20 */
    CHECK(ofp, "in_port=11,dl_src=" A ",dl_dst=ff:ff:ff:ff:ff:ff",
          "push_vlan(vid=10,pcp=0),13,pop_vlan,14,15,push_vlan(vid=10,pcp=0),16",
          "in_port=11,dl_src=" A ",dl_dst=ff:ff:ff:ff:ff:ff,vlan_tci=0x0000");
    /* priority-tagged frame on an access port keeps its PCP on trunks */
    CHECK(ofp, "in_port=11,dl_src=" A ",dl_dst=ff:ff:ff:ff:ff:ff,vlan_tci=0x7000",
          "set(vlan(vid=10)),13,pop_vlan,14,15,push_vlan(vid=10,pcp=3),16", NULL);
    /* tagged 20 from the trunk: access 20 untagged, the others tagged */
    CHECK(ofp, "in_port=13,dl_src=" B ",dl_dst=ff:ff:ff:ff:ff:ff,dl_vlan=20",
          "pop_vlan,12,push_vlan(vid=20,pcp=0),15,16",
          "in_port=13,dl_src=" B ",dl_dst=ff:ff:ff:ff:ff:ff,dl_vlan=20,dl_vlan_pcp=0");
    /* VLAN 30 is not trunked; VLAN 20 tagged into access 10 is refused */
    CHECK(ofp, "in_port=13,dl_src=" B ",dl_dst=ff:ff:ff:ff:ff:ff,dl_vlan=30", "drop", NULL);
    CHECK(ofp, "in_port=11,dl_src=" B ",dl_dst=ff:ff:ff:ff:ff:ff,dl_vlan=20", "drop", NULL);
    /* isolation: A learned in VLAN 10 is unknown in VLAN 20 */
    CHECK(ofp, "in_port=12,dl_src=" C ",dl_dst=" A, "push_vlan(vid=20,pcp=0),13,15,16", NULL);
    /* known in VLAN 10: from the native-untagged port (untagged = 10) to A */
    CHECK(ofp, "in_port=15,dl_src=" C ",dl_dst=" A, "11", NULL);
    /* native-untagged receiving tagged 20 sends it to the access 20 port */
    CHECK(ofp, "in_port=15,dl_src=" C ",dl_dst=ff:ff:ff:ff:ff:ff,dl_vlan=20",
          "pop_vlan,12,push_vlan(vid=20,pcp=0),13,16", NULL);
    sw_ofproto_destroy(ofp);
}

/* ---- rules and actions ---- */

static void test_actions(void **state)
{
    (void)state;
    struct sw_ofproto *ofp = new_bridge(false);
    for (unsigned n = 1; n <= 3; n++)
        add_port(ofp, n, SW_VLAN_MODE_TRUNK, 0, NULL, 0);
    add_flow(ofp, "table=0,priority=100,in_port=1,dl_vlan=10,actions=strip_vlan,output:2");
    CHECK(ofp, "in_port=11,dl_vlan=10,dl_src=" A, "pop_vlan,12",
          "in_port=11,dl_vlan=10,vlan_tci2=0x0000,vlan_tpid2=0x0");
    /* no rule matches: table miss is drop (no default flow here) */
    CHECK(ofp, "in_port=12,dl_vlan=10", "drop", "in_port=12");
    sw_ofproto_destroy(ofp);
}

static int setup(void **state)
{
    (void)state;
    return kk_rcu_register_thread();
}

static int teardown(void **state)
{
    (void)state;
    kk_rcu_unregister_thread();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_learning_and_flooding),
        cmocka_unit_test(test_normal_vlans),
        cmocka_unit_test(test_actions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
