/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Translation: each action's datapath actions and the exact megaflow
 * wildcards; tables, priorities, resubmit and goto_table; NORMAL with
 * learning, flooding per VLAN, access/trunk/native tagging, VLAN
 * isolation, aging and MAC moves; mirrors; bonds; dec_ttl; revalidation;
 * and random rule sets against a naive reference.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kk_common.h"
#include "kk_rcu.h"
#include "kk_test.h"
#include "mac_learning.h"
#include "ofproto.h"
#include "fake_meters.h"

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

/* The learned addresses, as "port/VLAN/last MAC byte" sorted, e.g. "1/10/0a 3/10/0c". */
static void fdb_summary(struct sw_ofproto *ofp, char *out, size_t size)
{
    char buf[1024], items[16][16];
    unsigned n = 0;
    sw_ofproto_fdb_show(ofp, buf, sizeof(buf));
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        unsigned port, vlan, m[6];
        if (sscanf(line, "%u %u %x:%x:%x:%x:%x:%x", &port, &vlan, &m[0], &m[1], &m[2], &m[3],
                   &m[4], &m[5]) != 8)
            continue;
        assert_true(n < 16);
        snprintf(items[n++], sizeof(items[0]), "%u/%u/%02x", port, vlan, m[5]);
    }
    qsort(items, n, sizeof(items[0]), (int (*)(const void *, const void *))strcmp);
    out[0] = 0;
    for (unsigned i = 0; i < n; i++)
        snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? " " : "", items[i]);
}

/* Reconfiguring a port forgets what was learned on it, and only when its
 * VLANs or its datapath port change; the other ports' entries stay. */
static void test_normal_reconfigure(void **state)
{
    (void)state;
    struct sw_ofproto *ofp = new_bridge(true);
    const uint16_t t1020[] = {10, 20}, t2010[] = {20, 10}, t10[] = {10};
    add_port(ofp, 1, SW_VLAN_MODE_ACCESS, 10, NULL, 0);
    add_port(ofp, 2, SW_VLAN_MODE_ACCESS, 10, NULL, 0);
    add_port(ofp, 3, SW_VLAN_MODE_TRUNK, 0, t1020, 2);
    /* A on port 1, C on the trunk, B on port 2, all in VLAN 10 */
    CHECK(ofp, "in_port=11,dl_src=" A ",dl_dst=ff:ff:ff:ff:ff:ff",
          "12,push_vlan(vid=10,pcp=0),13", NULL);
    CHECK(ofp, "in_port=13,dl_src=" C ",dl_dst=ff:ff:ff:ff:ff:ff,dl_vlan=10", "pop_vlan,11,12",
          NULL);
    CHECK(ofp, "in_port=12,dl_src=" B ",dl_dst=" A, "11", NULL);
    char sum[256];
    fdb_summary(ofp, sum, sizeof(sum));
    assert_string_equal(sum, "1/10/0a 2/10/0b 3/10/0c");

    /* the same settings again (trunks in another order): nothing forgotten */
    struct sw_port_settings ps = {.name = "p3", .vlan_mode = SW_VLAN_MODE_TRUNK,
                                  .trunks = t2010, .n_trunks = 2, .dp_port = 13};
    assert_int_equal(sw_ofproto_port_reconfigure(ofp, &ps), 0);
    ps = (struct sw_port_settings){.name = "p1", .vlan_mode = SW_VLAN_MODE_ACCESS, .tag = 10,
                                   .dp_port = 11};
    assert_int_equal(sw_ofproto_port_reconfigure(ofp, &ps), 0);
    fdb_summary(ofp, sum, sizeof(sum));
    assert_string_equal(sum, "1/10/0a 2/10/0b 3/10/0c");

    /* port 1 moves to VLAN 20: A is forgotten (B to A floods), B and C stay */
    ps.tag = 20;
    assert_int_equal(sw_ofproto_port_reconfigure(ofp, &ps), 0);
    fdb_summary(ofp, sum, sizeof(sum));
    assert_string_equal(sum, "2/10/0b 3/10/0c");
    CHECK(ofp, "in_port=12,dl_src=" B ",dl_dst=" A, "push_vlan(vid=10,pcp=0),13", NULL);
    CHECK(ofp, "in_port=12,dl_src=" B ",dl_dst=" C, "push_vlan(vid=10,pcp=0),13", NULL);

    /* the trunk drops VLAN 20: C, on it, is forgotten */
    ps = (struct sw_port_settings){.name = "p3", .vlan_mode = SW_VLAN_MODE_TRUNK,
                                   .trunks = t10, .n_trunks = 1, .dp_port = 13};
    assert_int_equal(sw_ofproto_port_reconfigure(ofp, &ps), 0);
    fdb_summary(ofp, sum, sizeof(sum));
    assert_string_equal(sum, "2/10/0b");

    /* port 2 onto another datapath port: B is forgotten */
    ps = (struct sw_port_settings){.name = "p2", .vlan_mode = SW_VLAN_MODE_ACCESS, .tag = 10,
                                   .dp_port = 22};
    assert_int_equal(sw_ofproto_port_reconfigure(ofp, &ps), 0);
    fdb_summary(ofp, sum, sizeof(sum));
    assert_string_equal(sum, "");
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


static void test_set_actions(void **state)
{
    (void)state;
    struct sw_ofproto *ofp = new_bridge(false);
    for (unsigned n = 1; n <= 3; n++)
        add_port(ofp, n, SW_VLAN_MODE_TRUNK, 0, NULL, 0);
    add_flow(ofp, "in_port=1,tcp,actions=mod_dl_src:00:00:00:00:00:01,mod_nw_dst:10.0.0.9,"
                  "mod_tp_dst:8080,output:2");
    CHECK(ofp, "in_port=11,tcp,dl_src=" A ",nw_src=1.1.1.1,nw_dst=2.2.2.2,tp_dst=80",
          "set(eth(src=00:00:00:00:00:01)),set(ipv4(dst=10.0.0.9)),set(l4(dst=8080)),12",
          "in_port=11,dl_src=" A ",tcp,nw_dst=2.2.2.2,ip_frag=not_later,tp_dst=80");
    /* nothing changes when the values are already there; wildcards the same */
    CHECK(ofp, "in_port=11,tcp,dl_src=00:00:00:00:00:01,nw_dst=10.0.0.9,tp_dst=8080", "12",
          "in_port=11,dl_src=00:00:00:00:00:01,tcp,nw_dst=10.0.0.9,ip_frag=not_later,"
          "tp_dst=8080");
    /* set_field, TOS bits, output twice: commit before each output only what changed */
    add_flow(ofp, "in_port=2,ip,actions=output:1,set_field:46->ip_dscp,mod_nw_ttl:9,output:3,"
                  "mod_nw_ecn:1,output:1");
    CHECK(ofp, "in_port=12,ip,nw_tos=0x02,nw_ttl=64",
          "11,set(ipv4(tos=0xb8/0xfc,ttl=9)),13,set(ipv4(tos=0x1/0x3)),11",
          "in_port=12,ip,ip_dscp=0,nw_ecn=2,nw_ttl=64");
    /* VLAN actions: push on untagged, rewrite on tagged, pop, push_vlan */
    add_flow(ofp, "in_port=3,actions=mod_vlan_vid:5,output:1,mod_vlan_pcp:2,output:2,"
                  "strip_vlan,output:1");
    CHECK(ofp, "in_port=13", "push_vlan(vid=5,pcp=0),11,set(vlan(pcp=2)),12,pop_vlan,11",
          "in_port=13,vlan_tci=0x0000,vlan_tci2=0x0000,vlan_tpid2=0x0");
    CHECK(ofp, "in_port=13,dl_vlan=7", "set(vlan(vid=5)),11,set(vlan(pcp=2)),12,pop_vlan,11",
          NULL);
    add_flow(ofp, "priority=40000,in_port=3,dl_vlan=8,actions=push_vlan:0x88a8,output:1");
    CHECK(ofp, "in_port=13,dl_vlan=8", "push_vlan(tpid=0x88a8,vid=8,pcp=0),11", NULL);
    /* mod_nw_src on a non-IP packet does nothing but pins dl_type */
    add_flow(ofp, "priority=300,in_port=1,dl_vlan=9,actions=mod_nw_src:1.2.3.4,output:2");
    CHECK(ofp, "in_port=11,dl_vlan=9,arp", "12", "in_port=11,dl_vlan=9,arp");
    sw_ofproto_destroy(ofp);
}

static void test_dec_ttl_and_controller(void **state)
{
    (void)state;
    struct sw_ofproto *ofp = new_bridge(false);
    for (unsigned n = 1; n <= 2; n++)
        add_port(ofp, n, SW_VLAN_MODE_TRUNK, 0, NULL, 0);
    add_flow(ofp, "in_port=1,ip,actions=dec_ttl,output:2");
    CHECK(ofp, "in_port=11,ip,nw_ttl=64", "set(ipv4(ttl=63)),12", "in_port=11,ip,nw_ttl=64");
    CHECK(ofp, "in_port=11,ip,nw_ttl=1", "drop", "in_port=11,ip,nw_ttl=1");
    CHECK(ofp, "in_port=11,ip,nw_ttl=0", "drop", NULL);
    add_flow(ofp, "in_port=1,ipv6,actions=dec_ttl,output:2");
    CHECK(ofp, "in_port=11,ipv6,nw_ttl=2", "set(ipv6(hlimit=1)),12", NULL);
    add_flow(ofp, "table=0,in_port=2,actions=output:1,controller:128");
    /* the cookie: max_len << 32 | table << 16 | packet-in reason (1: action) */
    CHECK(ofp, "in_port=12", "11,userspace(reason=1,cookie=0x8000000001)", "in_port=12");
    /* a table-miss entry (priority 0, matching everything): reason no_match */
    add_flow(ofp, "table=3,priority=0,actions=controller:64");
    add_flow(ofp, "priority=40000,in_port=2,dl_vlan=5,actions=goto_table:3");
    CHECK(ofp, "in_port=12,dl_vlan=5", "userspace(reason=1,cookie=0x4000030000)", NULL);
    /* misses: dropped, or to the controllers while a 1.0 controller wants them */
    CHECK(ofp, "in_port=11,arp", "drop", NULL);
    uint64_t seq = sw_ofproto_change_seq(ofp);
    sw_ofproto_set_miss(ofp, true, 200);
    assert_true(sw_ofproto_change_seq(ofp) != seq);
    CHECK(ofp, "in_port=11,arp", "userspace(reason=1,cookie=0xc800000000)", NULL);
    sw_ofproto_set_miss(ofp, false, 0);
    CHECK(ofp, "in_port=11,arp", "drop", NULL);
    /* fail-open: NORMAL for everything, whatever the tables say */
    sw_ofproto_set_fail_open(ofp, true);
    assert_true(sw_ofproto_fail_open(ofp));
    CHECK(ofp, "in_port=11,arp,dl_dst=ff:ff:ff:ff:ff:ff", "12", NULL);
    CHECK(ofp, "in_port=11,ip,nw_ttl=64,dl_dst=ff:ff:ff:ff:ff:ff", "12", NULL);
    sw_ofproto_set_fail_open(ofp, false);
    CHECK(ofp, "in_port=11,ip,nw_ttl=64", "set(ipv4(ttl=63)),12", NULL);
    /* port configuration (port-mod): no_fwd drops outputs, no_recv input,
     * no_packet_in the controller copies, no_flood leaves FLOOD (not ALL) */
    assert_int_equal(sw_ofproto_port_set_config(ofp, 2, SW_PC_NO_FWD, SW_PC_NO_FWD), 0);
    CHECK(ofp, "in_port=11,ip,nw_ttl=64", "drop", NULL);
    assert_int_equal(sw_ofproto_port_set_config(ofp, 2, 0, SW_PC_NO_FWD), 0);
    assert_int_equal(sw_ofproto_port_set_config(ofp, 1, SW_PC_NO_RECV, SW_PC_NO_RECV), 0);
    CHECK(ofp, "in_port=11,ip,nw_ttl=64", "drop", NULL);
    assert_int_equal(sw_ofproto_port_set_config(ofp, 1, 0, SW_PC_ALL), 0);
    assert_int_equal(sw_ofproto_port_set_config(ofp, 2, SW_PC_NO_PACKET_IN, SW_PC_NO_PACKET_IN), 0);
    CHECK(ofp, "in_port=12", "11", NULL);
    assert_int_equal(sw_ofproto_port_set_config(ofp, 9, 0, SW_PC_ALL), -ENOENT);
    assert_int_equal(sw_ofproto_port_set_config(ofp, 2, 0, 1u << 30), -EINVAL);
    sw_ofproto_destroy(ofp);
}

static void test_tables_resubmit_goto(void **state)
{
    (void)state;
    struct sw_ofproto *ofp = new_bridge(false);
    for (unsigned n = 1; n <= 4; n++)
        add_port(ofp, n, SW_VLAN_MODE_TRUNK, 0, NULL, 0);
    add_flow(ofp, "priority=10,actions=resubmit(,1),output:4");
    add_flow(ofp, "priority=20,in_port=2,actions=goto_table:2");
    add_flow(ofp, "table=1,priority=5,ip,actions=output:2");
    add_flow(ofp, "table=1,priority=6,ip,nw_dst=10.0.0.0/8,actions=output:3");
    add_flow(ofp, "table=2,priority=1,actions=resubmit:1");
    /* resubmit into table 1, come back and go on */
    CHECK(ofp, "in_port=11,ip,nw_dst=10.1.1.1", "13,14", "in_port=11,ip,nw_dst=10.0.0.0/8");
    CHECK(ofp, "in_port=11,ip,nw_dst=192.168.1.1", "12,14", "in_port=11,ip,nw_dst=128.0.0.0/1");
    CHECK(ofp, "in_port=11,arp", "14", "in_port=11,arp");
    /* goto table 2, which resubmits as if from port 1 to table 2 (its own) */
    struct result r;
    xlate(ofp, "in_port=12,ip", &r, 0);
    assert_int_equal(r.rc, -ELOOP);
    /* higher priority wins; ties keep the first rule */
    add_flow(ofp, "table=3,priority=7,actions=output:1");
    add_flow(ofp, "table=3,priority=7,ip,actions=output:2");
    add_flow(ofp, "table=2,priority=2,actions=resubmit(3,3)");
    CHECK(ofp, "in_port=12,ip", "11", NULL);
    /* output to the (resubmitted) input port is dropped; IN_PORT sends it there */
    add_flow(ofp, "table=3,priority=9,in_port=3,actions=output:3,in_port");
    CHECK(ofp, "in_port=12,ip", "13", NULL);
    /* output to an unknown or down port does nothing */
    add_flow(ofp, "priority=30,in_port=4,actions=output:99,output:1,flood");
    assert_int_equal(sw_ofproto_set_link(ofp, 12, false), 0);
    CHECK(ofp, "in_port=14", "11,11,13", "in_port=14");
    sw_ofproto_destroy(ofp);
}

/* OpenFlow 1.3 instructions: metadata between tables, the action set. */
static void test_metadata_and_action_set(void **state)
{
    (void)state;
    struct sw_ofproto *ofp = new_bridge(false);
    for (unsigned n = 1; n <= 4; n++)
        add_port(ofp, n, SW_VLAN_MODE_TRUNK, 0, NULL, 0);
    /* table 0 tags the packet's origin in metadata; table 1 decides on it */
    add_flow(ofp, "priority=10,in_port=1,actions=write_metadata:0x100/0xf00,goto_table:1");
    add_flow(ofp, "priority=10,in_port=2,actions=write_metadata:0x200/0xf00,goto_table:1");
    add_flow(ofp, "table=1,priority=20,metadata=0x100/0xf00,actions=output:3");
    add_flow(ofp, "table=1,priority=10,actions=output:4");
    /* the megaflow holds packet fields only (in_port decided the metadata) */
    CHECK(ofp, "in_port=11,ip", "13", "in_port=11");
    CHECK(ofp, "in_port=12,ip", "14", "in_port=12");
    /* the action set: written in table 0, replaced by table 2 (one output),
     * executed in its own order (sets before output) at the end */
    add_flow(ofp, "priority=30,in_port=3,actions=write_actions(output:1),goto_table:2");
    add_flow(ofp, "table=2,priority=10,actions=write_actions(output:2,mod_vlan_vid:9)");
    CHECK(ofp, "in_port=13", "push_vlan(vid=9,pcp=0),12", NULL);
    /* apply actions run at once, the set at the end; clear_actions empties it */
    add_flow(ofp, "priority=30,in_port=4,actions=output:1,write_actions(output:2),goto_table:3");
    add_flow(ofp, "table=3,priority=10,dl_vlan=7,actions=clear_actions");
    add_flow(ofp, "table=3,priority=5,actions=output:3");
    CHECK(ofp, "in_port=14,dl_vlan=7", "11", NULL);
    CHECK(ofp, "in_port=14,dl_vlan=8", "11,13,12", NULL);
    sw_ofproto_destroy(ofp);
}

static void group_mod(struct sw_ofproto *ofp, enum sw_group_mod_cmd cmd, const char *text,
                      int want, const char *want_err)
{
    char err[256] = "";
    int r = sw_ofproto_group_mod(ofp, cmd, text, err, sizeof(err));
    if (r != want || (want_err && !strstr(err, want_err)))
        fail_msg("group-mod '%s': %d '%s', wanted %d '%s'", text, r, err, want,
                 want_err ? want_err : "");
}

/* Groups: all, indirect, select, fast failover, chains, the action set. */
static void test_groups(void **state)
{
    (void)state;
    struct sw_ofproto *ofp = new_bridge(false);
    for (unsigned n = 1; n <= 4; n++)
        add_port(ofp, n, SW_VLAN_MODE_TRUNK, 0, NULL, 0);
    /* all: every bucket, each from the packet as the group got it */
    group_mod(ofp, SW_GM_ADD,
              "group_id=1,type=all,bucket=output:1,bucket=actions=mod_vlan_vid:5,output:2,"
              "bucket=output:3", 0, NULL);
    add_flow(ofp, "priority=10,in_port=4,actions=group:1");
    CHECK(ofp, "in_port=14", "11,push_vlan(vid=5,pcp=0),12,pop_vlan,13",
          "in_port=14,vlan_tci=0x0000/0x1fff");
    /* indirect, chained from a bucket of another group */
    group_mod(ofp, SW_GM_ADD, "group_id=2,type=indirect,bucket=output:2", 0, NULL);
    group_mod(ofp, SW_GM_ADD, "group_id=3,type=all,bucket=group:2,bucket=output:4", 0, NULL);
    add_flow(ofp, "priority=10,in_port=1,actions=group:3");
    CHECK(ofp, "in_port=11", "12,14", NULL);
    /* fast failover: the first bucket whose port is up */
    group_mod(ofp, SW_GM_ADD,
              "group_id=4,type=ff,bucket=watch_port:2,actions=output:2,"
              "bucket=watch_port:3,output:3", 0, NULL);
    add_flow(ofp, "priority=10,in_port=2,actions=group:4");
    CHECK(ofp, "in_port=12", "drop", NULL); /* output to the input port is skipped */
    add_flow(ofp, "priority=20,in_port=1,dl_vlan=9,actions=group:4");
    CHECK(ofp, "in_port=11,dl_vlan=9", "12", NULL);
    assert_int_equal(sw_ofproto_set_link(ofp, 12, false), 0);
    CHECK(ofp, "in_port=11,dl_vlan=9", "13", NULL);
    assert_int_equal(sw_ofproto_set_link(ofp, 13, false), 0);
    CHECK(ofp, "in_port=11,dl_vlan=9", "drop", NULL);
    assert_int_equal(sw_ofproto_set_link(ofp, 12, true), 0);
    assert_int_equal(sw_ofproto_set_link(ofp, 13, true), 0);
    /* select: by the 5-tuple, weighted, over live buckets; the megaflow
     * holds the fields hashed */
    group_mod(ofp, SW_GM_ADD,
              "group_id=5,type=select,bucket=weight:50,output:1,bucket=weight:50,output:2,"
              "bucket=weight:0,output:3", 0, NULL);
    add_flow(ofp, "priority=10,in_port=3,actions=group:5");
    unsigned hits[4] = {0};
    for (unsigned i = 0; i < 200; i++) {
        char flow[128];
        snprintf(flow, sizeof(flow), "in_port=13,udp,nw_src=10.0.%u.%u,nw_dst=10.9.9.9,"
                 "tp_src=%u,tp_dst=53", i / 250, i % 250 + 1, 1000 + i);
        struct result r;
        xlate(ofp, flow, &r, 0);
        assert_int_equal(r.rc, 0);
        unsigned port = (unsigned)atoi(r.actions);
        assert_true(port == 11 || port == 12);
        hits[port - 11]++;
        assert_non_null(strstr(r.megaflow, "nw_src="));
        assert_non_null(strstr(r.megaflow, "tp_src="));
        /* the same packet always takes the same bucket */
        struct result again;
        xlate(ofp, flow, &again, 0);
        assert_string_equal(again.actions, r.actions);
    }
    print_message("# select over 2 live buckets of weight 50: %u / %u\n", hits[0], hits[1]);
    assert_true(hits[0] >= 60 && hits[1] >= 60);
    assert_int_equal(sw_ofproto_set_link(ofp, 11, false), 0);
    CHECK(ofp, "in_port=13,udp,nw_src=10.0.0.1,nw_dst=10.9.9.9,tp_src=1,tp_dst=2", "12", NULL);
    assert_int_equal(sw_ofproto_set_link(ofp, 11, true), 0);
    /* in the action set a group wins over the output */
    add_flow(ofp, "priority=30,in_port=3,actions=write_actions(output:4,group:2)");
    CHECK(ofp, "in_port=13", "12", NULL);

    /* refusals */
    group_mod(ofp, SW_GM_ADD, "group_id=1,type=all,bucket=output:1", -EEXIST, "exists");
    group_mod(ofp, SW_GM_MODIFY, "group_id=77,type=all,bucket=output:1", -ENOENT,
              "does not exist");
    group_mod(ofp, SW_GM_ADD, "group_id=8,type=indirect,bucket=output:1,bucket=output:2",
              -EINVAL, "exactly one bucket");
    group_mod(ofp, SW_GM_ADD, "group_id=8,type=ff,bucket=output:1", -EINVAL, "watches no");
    group_mod(ofp, SW_GM_ADD, "group_id=8,type=bogus,bucket=output:1", -EINVAL, "type:");
    group_mod(ofp, SW_GM_ADD, "group_id=8,type=all,bucket=group:99", -EINVAL, "does not exist");
    group_mod(ofp, SW_GM_ADD, "group_id=8,type=all,bucket=goto_table:1", -EINVAL,
              "actions only");
    group_mod(ofp, SW_GM_ADD, "group_id=8,type=all,bucket=watch_group:98,output:1", -EINVAL,
              "watch_group 98");
    /* a chain back to itself: 2 -> 3 -> 2 */
    group_mod(ofp, SW_GM_MODIFY, "group_id=2,type=indirect,bucket=group:3", -ELOOP,
              "leads back");
    char err[256];
    assert_int_equal(sw_ofproto_add_flow(ofp, "priority=1,actions=group:99", err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "group 99 does not exist"));

    /* dumps, and statistics credited like rules' */
    char buf[4096];
    sw_ofproto_dump_groups(ofp, 5, false, buf, sizeof(buf));
    assert_string_equal(buf, " group_id=5,type=select,bucket=weight:50,actions=output:1,"
                             "bucket=weight:50,actions=output:2,bucket=weight:0,actions=output:3\n");
    sw_ofproto_dump_groups(ofp, 4, false, buf, sizeof(buf));
    assert_string_equal(buf, " group_id=4,type=ff,bucket=watch_port:2,actions=output:2,"
                             "bucket=watch_port:3,actions=output:3\n");
    struct sw_flow_key k;
    struct sw_flow_mask m;
    assert_int_equal(sw_flow_parse("in_port=14", &k, &m, NULL, 0), 0);
    sw_ofproto_credit(ofp, &k, 3, 300, 0);
    sw_ofproto_dump_groups(ofp, 1, true, buf, sizeof(buf));
    /* 3 credited + the one translation above with statistics (no bytes) */
    assert_non_null(strstr(buf, "ref_count=1,packet_count=4,byte_count=300,"
                                "bucket0:packet_count=4,byte_count=300,"
                                "bucket1:packet_count=4,byte_count=300,"
                                "bucket2:packet_count=4,byte_count=300\n"));
    /* deleting a group deletes the rules that use it */
    group_mod(ofp, SW_GM_DELETE, "group_id=1", 0, NULL);
    sw_ofproto_dump_flows(ofp, "in_port=4", false, buf, sizeof(buf));
    assert_null(strstr(buf, "group:1"));
    CHECK(ofp, "in_port=14", "drop", NULL);
    group_mod(ofp, SW_GM_DELETE, "", 0, NULL);
    sw_ofproto_dump_groups(ofp, SW_GROUP_WATCH_NONE, false, buf, sizeof(buf));
    assert_string_equal(buf, "");
    sw_ofproto_destroy(ofp);
}

static int fake_meter_stats(void *arg, uint32_t dp_id, struct sw_meter_stats *out)
{
    (void)arg;
    memset(out, 0, sizeof(*out));
    out->packets = 10 + dp_id;
    out->bytes = 1000;
    out->n_bands = 1;
    out->band_packets[0] = 3;
    out->band_bytes[0] = 300;
    return 0;
}

static void meter_mod(struct sw_ofproto *ofp, enum sw_meter_mod_cmd cmd, const char *text,
                      int want, const char *want_err)
{
    char err[256] = "";
    int r = sw_ofproto_meter_mod(ofp, cmd, text, err, sizeof(err));
    if (r != want || (want_err && !strstr(err, want_err)))
        fail_msg("meter-mod '%s': %d '%s', wanted %d '%s'", text, r, err, want,
                 want_err ? want_err : "");
}

static void test_meters(void **state)
{
    (void)state;
    struct fake_meters fm;
    memset(&fm, 0, sizeof(fm));
    struct sw_meter_provider pv = {.set = fake_meter_set, .del = fake_meter_del,
                                   .stats = fake_meter_stats, .arg = &fm};
    struct sw_ofproto_settings st = {.name = "brm", .no_default_flow = true, .meters = &pv};
    struct sw_ofproto *ofp;
    assert_int_equal(sw_ofproto_create(&st, &ofp), 0);
    for (unsigned n = 1; n <= 2; n++)
        add_port(ofp, n, SW_VLAN_MODE_TRUNK, 0, NULL, 0);
    meter_mod(ofp, SW_MM_ADD, "meter=5,kbps,burst,band=type=drop,rate=1000,burst_size=64", 0,
              NULL);
    assert_int_equal(fm.sets, 1);
    assert_false(fm.cfg[0].pktps);
    assert_int_equal(fm.cfg[0].bands[0].rate, 1000);
    assert_int_equal(fm.cfg[0].bands[0].burst, 64);
    meter_mod(ofp, SW_MM_ADD, "meter=9,pktps,bands=type=drop,rate=10,type=drop,rate=50", 0, NULL);
    assert_true(fm.cfg[1].pktps);
    assert_int_equal(fm.cfg[1].n_bands, 2);
    assert_int_equal(fm.cfg[1].bands[1].burst, 0); /* no burst flag: the default */
    /* the meter instruction comes first and becomes the datapath's meter */
    add_flow(ofp, "priority=10,in_port=1,actions=meter:9,output:2");
    CHECK(ofp, "in_port=11", "meter(1),12", "in_port=11");
    char buf[1024];
    sw_ofproto_dump_flows(ofp, NULL, false, buf, sizeof(buf));
    assert_non_null(strstr(buf, "actions=meter:9,output:2"));
    sw_ofproto_dump_meters(ofp, 0, false, buf, sizeof(buf));
    assert_string_equal(buf, " meter=5,kbps,burst,bands=type=drop,rate=1000,burst_size=64\n"
                             " meter=9,pktps,bands=type=drop,rate=10,type=drop,rate=50\n");
    sw_ofproto_dump_meters(ofp, 9, true, buf, sizeof(buf));
    assert_non_null(strstr(buf, " meter=9,flow_count=1,packet_in_count=11,byte_in_count=1000,"));
    assert_non_null(strstr(buf, "bands=0:packet_count=3,byte_count=300,1:packet_count=0"));
    /* modify keeps the datapath number */
    meter_mod(ofp, SW_MM_MODIFY, "meter=9,pktps,bands=type=drop,rate=20", 0, NULL);
    assert_int_equal(fm.cfg[1].bands[0].rate, 20);
    CHECK(ofp, "in_port=11", "meter(1),12", NULL);
    /* refusals */
    meter_mod(ofp, SW_MM_ADD, "meter=5,kbps,band=type=drop,rate=1", -EEXIST, "exists");
    meter_mod(ofp, SW_MM_MODIFY, "meter=6,kbps,band=type=drop,rate=1", -ENOENT, "does not exist");
    meter_mod(ofp, SW_MM_ADD, "meter=6,kbps,band=type=dscp_remark,rate=1,prec_level=1", -ENOTSUP,
              "dscp_remark");
    meter_mod(ofp, SW_MM_ADD, "meter=6,kbps", -EINVAL, "at least one band");
    meter_mod(ofp, SW_MM_ADD, "meter=6,kbps,pktps,band=type=drop,rate=1", -EINVAL, "choose one");
    meter_mod(ofp, SW_MM_ADD, "meter=0,band=type=drop,rate=1", -EINVAL, "bad id");
    meter_mod(ofp, SW_MM_ADD, "meter=6,band=type=drop,rate=0", -EINVAL, "bad rate");
    meter_mod(ofp, SW_MM_ADD, "meter=6,band=rate=5", -EINVAL, "before type");
    char err[256];
    assert_int_equal(sw_ofproto_add_flow(ofp, "priority=1,actions=meter:77,output:1", err,
                                         sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "meter 77 does not exist"));
    assert_int_equal(sw_ofproto_add_flow(ofp, "priority=1,actions=output:1,meter:5", err,
                                         sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "meter must come before apply actions"));
    /* deleting a meter deletes its rules and the datapath meter */
    meter_mod(ofp, SW_MM_DELETE, "meter=9", 0, NULL);
    assert_int_equal(fm.dels, 1);
    assert_false(fm.used[1]);
    sw_ofproto_dump_flows(ofp, NULL, false, buf, sizeof(buf));
    assert_null(strstr(buf, "meter:9"));
    meter_mod(ofp, SW_MM_DELETE, "", 0, NULL);
    assert_int_equal(fm.dels, 2);
    sw_ofproto_destroy(ofp);
    /* a bridge without a provider refuses meters */
    struct sw_ofproto_settings st2 = {.name = "brn", .no_default_flow = true};
    assert_int_equal(sw_ofproto_create(&st2, &ofp), 0);
    meter_mod(ofp, SW_MM_ADD, "meter=1,band=type=drop,rate=1", -ENOTSUP, "no datapath meters");
    sw_ofproto_destroy(ofp);
}

static void test_mirrors(void **state)
{
    (void)state;
    struct sw_ofproto *ofp = new_bridge(true);
    for (unsigned n = 1; n <= 4; n++)
        add_port(ofp, n, SW_VLAN_MODE_TRUNK, 0, NULL, 0);
    const char *src[] = {"p1"}, *dst[] = {"p2"};
    struct sw_mirror_settings ms = {.name = "m1", .select_src = src, .n_select_src = 1,
                                    .output = "p4"};
    assert_int_equal(sw_ofproto_mirror_set(ofp, &ms), 0);
    /* flood from p1 already reaches p4: no extra copy */
    CHECK(ofp, "in_port=11,dl_src=" A ",dl_dst=ff:ff:ff:ff:ff:ff", "12,13,14", NULL);
    /* unicast to p2 (B learned there): copy to p4 as received */
    CHECK(ofp, "in_port=12,dl_src=" B ",dl_dst=ff:ff:ff:ff:ff:ff", "11,13,14", NULL);
    CHECK(ofp, "in_port=11,dl_src=" A ",dl_dst=" B, "12,14", NULL);
    /* mirror of packets sent to p2, only VLAN 5; state as it left */
    const uint16_t v5[] = {5};
    struct sw_mirror_settings md = {.name = "m2", .select_dst = dst, .n_select_dst = 1,
                                    .select_vlan = v5, .n_select_vlan = 1, .output = "p3"};
    assert_int_equal(sw_ofproto_mirror_set(ofp, &md), 0);
    add_flow(ofp, "priority=50,in_port=4,actions=strip_vlan,output:2");
    /* the copy goes out in the packet's input VLAN, tagged on trunk p3 */
    CHECK(ofp, "in_port=14,dl_vlan=5,dl_vlan_pcp=3", "pop_vlan,12,push_vlan(vid=5,pcp=3),13",
          NULL);
    CHECK(ofp, "in_port=14,dl_vlan=6", "pop_vlan,12", NULL);
    /* a copy never goes back to the input port */
    add_flow(ofp, "priority=50,in_port=3,actions=output:2");
    CHECK(ofp, "in_port=13,dl_vlan=5", "12", NULL);
    /* p4 is both mirrors' destination: one copy */
    ms.output = "p4";
    md.output = "p4";
    assert_int_equal(sw_ofproto_mirror_set(ofp, &md), 0);
    add_flow(ofp, "priority=50,in_port=1,actions=mod_vlan_vid:5,output:2");
    CHECK(ofp, "in_port=11,dl_vlan=5,dl_vlan_pcp=1", "12,14", NULL);
    /* an access port as mirror output gets the copies untagged, whatever
     * its own tag (a mirror output port only watches, it does not switch) */
    add_port(ofp, 5, SW_VLAN_MODE_ACCESS, 7, NULL, 0);
    struct sw_mirror_settings ma = {.name = "m4", .select_src = src, .n_select_src = 1,
                                    .output = "p5"};
    assert_int_equal(sw_ofproto_mirror_del(ofp, "m2"), 0);
    assert_int_equal(sw_ofproto_mirror_set(ofp, &ma), 0);
    add_flow(ofp, "priority=60,in_port=1,actions=output:2");
    CHECK(ofp, "in_port=11,dl_vlan=5,dl_vlan_pcp=1", "12,14,pop_vlan,15", NULL);
    char buf[512];
    sw_ofproto_mirror_format(ofp, buf, sizeof(buf));
    assert_string_equal(buf, "m1: src=[p1] dst=[] vlans=[] output=p4\n"
                             "m4: src=[p1] dst=[] vlans=[] output=p5\n");
    const char *bad[] = {"nope"};
    struct sw_mirror_settings mb = {.name = "m3", .select_src = bad, .n_select_src = 1,
                                    .output = "p1"};
    assert_int_equal(sw_ofproto_mirror_set(ofp, &mb), -EINVAL);
    assert_int_equal(sw_ofproto_mirror_del(ofp, "m1"), 0);
    assert_int_equal(sw_ofproto_mirror_del(ofp, "m1"), -ENOENT);
    sw_ofproto_destroy(ofp);
}

static void test_bond(void **state)
{
    (void)state;
    struct sw_ofproto *ofp = new_bridge(true);
    add_port(ofp, 1, SW_VLAN_MODE_TRUNK, 0, NULL, 0);
    add_port(ofp, 2, SW_VLAN_MODE_TRUNK, 0, NULL, 0);
    struct sw_bond_settings bs = {.mode = SW_BOND_ACTIVE_BACKUP};
    const uint32_t members[] = {21, 22};
    struct sw_port_settings ps = {.name = "bond0", .ofport = 3, .bond = &bs,
                                  .members = members, .n_members = 2};
    assert_int_equal(sw_ofproto_port_add(ofp, &ps, NULL), 0);
    /* members start down: the bond gets nothing */
    CHECK(ofp, "in_port=11,dl_src=" A ",dl_dst=ff:ff:ff:ff:ff:ff", "12", NULL);
    assert_int_equal(sw_ofproto_set_link(ofp, 21, true), 0);
    assert_int_equal(sw_ofproto_set_link(ofp, 22, true), 0);
    sw_ofproto_run(ofp, NULL, NULL);
    uint32_t active = 21;
    {
        struct result r;
        xlate(ofp, "in_port=11,dl_src=" A ",dl_dst=ff:ff:ff:ff:ff:ff", &r, 0);
        assert_true(!strcmp(r.actions, "12,21") || !strcmp(r.actions, "12,22"));
        active = !strcmp(r.actions, "12,21") ? 21 : 22;
    }
    uint32_t backup = active == 21 ? 22 : 21;
    char flow[128];
    /* received on the backup: dropped (no loop); on the active member: forwarded */
    snprintf(flow, sizeof(flow), "in_port=%u,dl_src=" B ",dl_dst=ff:ff:ff:ff:ff:ff", backup);
    CHECK(ofp, flow, "drop", NULL);
    snprintf(flow, sizeof(flow), "in_port=%u,dl_src=" B ",dl_dst=ff:ff:ff:ff:ff:ff", active);
    CHECK(ofp, flow, "11,12", NULL);
    /* B is behind the bond: unicast to it leaves on the active member */
    char exp[16];
    snprintf(exp, sizeof(exp), "%u", active);
    CHECK(ofp, "in_port=12,dl_src=" C ",dl_dst=" B, exp, NULL);
    /* the active member fails: the other takes over */
    assert_int_equal(sw_ofproto_set_link(ofp, active, false), 0);
    sw_ofproto_run(ofp, NULL, NULL);
    snprintf(exp, sizeof(exp), "%u", backup);
    CHECK(ofp, "in_port=12,dl_src=" C ",dl_dst=" B, exp, NULL);
    char buf[2048];
    assert_true(sw_ofproto_bond_show(ofp, "bond0", buf, sizeof(buf)) > 0);
    assert_int_equal(sw_ofproto_bond_show(ofp, "p1", buf, sizeof(buf)), -EINVAL);
    assert_int_equal(sw_ofproto_bond_show(ofp, "zz", buf, sizeof(buf)), -ENOENT);
    sw_ofproto_destroy(ofp);
}

static void test_revalidation(void **state)
{
    (void)state;
    struct sw_ofproto *ofp = new_bridge(true);
    for (unsigned n = 1; n <= 3; n++)
        add_port(ofp, n, SW_VLAN_MODE_TRUNK, 0, NULL, 0);
    /* a flood megaflow for unknown B */
    struct result r;
    xlate(ofp, "in_port=11,dl_src=" A ",dl_dst=" B, &r, 0);
    assert_string_equal(r.actions, "12,13");
    const void *na;
    size_t nl;
    assert_int_equal(sw_ofproto_revalidate_flow(ofp, &r.key, &r.wc, r.odp.data, r.odp.len,
                                                &na, &nl), SW_MFC_KEEP);
    /* B is learned on p3: the megaflow gets B's port */
    CHECK(ofp, "in_port=13,dl_src=" B ",dl_dst=" A, "11", NULL);
    assert_int_equal(sw_ofproto_revalidate_flow(ofp, &r.key, &r.wc, r.odp.data, r.odp.len,
                                                &na, &nl), SW_MFC_REPLACE);
    char text[256];
    sw_odp_format(na, nl, text, sizeof(text), NULL, NULL);
    assert_string_equal(text, "13");
    /* a rule that looks at nw_dst makes the old (wider) megaflow unsound */
    add_flow(ofp, "priority=10,ip,nw_dst=10.0.0.1,actions=drop");
    struct result r2;
    xlate(ofp, "in_port=11,dl_src=" A ",dl_dst=" B ",ip,nw_dst=10.0.0.2", &r2, 0);
    assert_int_equal(sw_ofproto_mfc_reval(ofp, &r.key, &r.wc, r.odp.data, r.odp.len, ofp, &na,
                                          &nl), SW_MFC_DELETE);
    /* flows of another bridge are left alone */
    assert_int_equal(sw_ofproto_mfc_reval(ofp, &r.key, &r.wc, r.odp.data, r.odp.len, &r, &na,
                                          &nl), SW_MFC_KEEP);
    sw_ofproto_destroy(ofp);
}

/* Random rule sets of in_port/dl_vlan/nw_dst matches with output actions
 * against a naive scan: same output port, and the megaflow is sound
 * (packets that agree with it on wc get the same actions). */
struct naive_rule {
    int prio;
    int in_port;   /* 0: any */
    int vlan;      /* -1: any */
    int nw_dst;    /* -1: any (else last byte of 10.0.0.x) */
    int out;
};

static int naive(const struct naive_rule *rules, int n, int in_port, int vlan, int dst)
{
    int best = -1, best_prio = -1;
    for (int i = 0; i < n; i++) {
        const struct naive_rule *r = &rules[i];
        if ((r->in_port && r->in_port != in_port) || (r->vlan >= 0 && r->vlan != vlan) ||
            (r->nw_dst >= 0 && r->nw_dst != dst))
            continue;
        if (r->prio > best_prio) {
            best_prio = r->prio;
            best = r->out;
        }
    }
    return best;
}

static void test_random_against_naive(void **state)
{
    (void)state;
    uint64_t rng = 12345;
    for (int round = 0; round < 20; round++) {
        struct sw_ofproto *ofp = new_bridge(false);
        for (unsigned n = 1; n <= 4; n++)
            add_port(ofp, n, SW_VLAN_MODE_TRUNK, 0, NULL, 0);
        struct naive_rule rules[40];
        int n_rules = 1 + (int)(kk_test_rand(&rng) % 40);
        for (int i = 0; i < n_rules; i++) {
            struct naive_rule *r = &rules[i];
            uint64_t v = kk_test_rand(&rng);
            r->prio = (int)(i * 7 + 1); /* distinct priorities: no tie ambiguity */
            r->in_port = v % 3 ? 0 : 1 + (int)((v >> 4) % 4);
            r->vlan = (v >> 8) % 2 ? -1 : (int)((v >> 10) % 3);
            r->nw_dst = (v >> 16) % 2 ? -1 : (int)((v >> 20) % 4);
            r->out = 1 + (int)((v >> 24) % 4);
            char text[256];
            int len = snprintf(text, sizeof(text), "priority=%d,ip", r->prio);
            if (r->in_port)
                len += snprintf(text + len, sizeof(text) - (size_t)len, ",in_port=%d",
                                r->in_port);
            if (r->vlan >= 0)
                len += snprintf(text + len, sizeof(text) - (size_t)len, ",dl_vlan=%d", r->vlan);
            if (r->nw_dst >= 0)
                len += snprintf(text + len, sizeof(text) - (size_t)len, ",nw_dst=10.0.0.%d",
                                r->nw_dst);
            snprintf(text + len, sizeof(text) - (size_t)len, ",actions=output:%d", r->out);
            add_flow(ofp, text);
        }
        for (int p = 0; p < 50; p++) {
            uint64_t v = kk_test_rand(&rng);
            int in = 1 + (int)(v % 4), vlan = (int)((v >> 4) % 3), dst = (int)((v >> 8) % 4);
            char flow[128];
            snprintf(flow, sizeof(flow), "in_port=%d,dl_vlan=%d,ip,nw_dst=10.0.0.%d", 10 + in,
                     vlan, dst);
            struct result r;
            xlate(ofp, flow, &r, 0);
            int exp = naive(rules, n_rules, in, vlan, dst);
            char want[16];
            if (exp < 0 || exp == in)
                snprintf(want, sizeof(want), "drop");
            else
                snprintf(want, sizeof(want), "%d", 10 + exp);
            assert_string_equal(r.actions, want);
            /* soundness: every packet equal on wc gets the same result */
            for (int q = 0; q < 4 * 3 * 4; q++) {
                int in2 = 1 + q % 4, vlan2 = (q / 4) % 3, dst2 = q / 12;
                char f2[128];
                snprintf(f2, sizeof(f2), "in_port=%d,dl_vlan=%d,ip,nw_dst=10.0.0.%d", 10 + in2,
                         vlan2, dst2);
                struct sw_flow_key k2;
                struct sw_flow_mask m2;
                assert_int_equal(sw_flow_parse(f2, &k2, &m2, NULL, 0), 0);
                if (!sw_flow_key_equal_masked(&k2, &r.key, &r.wc))
                    continue;
                int e2 = naive(rules, n_rules, in2, vlan2, dst2);
                assert_int_equal(e2 < 0 || e2 == in2 ? -1 : e2, exp < 0 || exp == in ? -1 : exp);
            }
        }
        sw_ofproto_destroy(ofp);
    }
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
        cmocka_unit_test(test_normal_reconfigure),
        cmocka_unit_test(test_actions),
        cmocka_unit_test(test_set_actions),
        cmocka_unit_test(test_dec_ttl_and_controller),
        cmocka_unit_test(test_tables_resubmit_goto),
        cmocka_unit_test(test_metadata_and_action_set),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_meters),
        cmocka_unit_test(test_mirrors),
        cmocka_unit_test(test_bond),
        cmocka_unit_test(test_revalidation),
        cmocka_unit_test(test_random_against_naive),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
