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

static bool run(struct sw_bond *b, uint64_t now)
{
    return sw_bond_run(b, now, NULL, NULL);
}

static void test_refused(void **state)
{
    (void)state;
    struct sw_bond_settings s = {.mode = SW_BOND_BALANCE_TCP, .lacp = SW_BOND_LACP_OFF};
    struct sw_bond *b;
    assert_int_equal(sw_bond_create(&s, &b), -EINVAL);
    s.mode = (enum sw_bond_mode)7;
    assert_int_equal(sw_bond_create(&s, &b), -EINVAL);
    s.mode = SW_BOND_BALANCE_SLB;
    s.lacp = (enum sw_bond_lacp)9;
    assert_int_equal(sw_bond_create(&s, &b), -EINVAL);
    assert_int_equal(sw_bond_create(NULL, &b), -EINVAL);
    b = make_bond(SW_BOND_BALANCE_SLB, SW_BOND_LACP_OFF, 1, 0, 0);
    uint8_t mac[6] = {0};
    assert_int_equal(sw_bond_member_add(b, 1, mac), -EEXIST);
    assert_int_equal(sw_bond_member_add(b, SW_BOND_NONE, mac), -EINVAL);
    assert_int_equal(sw_bond_member_add(b, 2, NULL), -EINVAL);
    s.mode = SW_BOND_BALANCE_TCP;
    s.lacp = SW_BOND_LACP_OFF;
    assert_int_equal(sw_bond_reconfigure(b, &s), -EINVAL);
    /* Unknown members are ignored or refused. */
    sw_bond_member_set_link(b, 5, true, 0);
    sw_bond_member_del(b, 5);
    assert_false(sw_bond_member_enabled(b, 5));
    struct sw_flow_key k;
    memset(&k, 0, sizeof(k));
    assert_int_equal(sw_bond_check_input(b, 5, &k, NULL), SW_BOND_DROP);
    /* A bond with no member up sends nowhere. */
    assert_int_equal(sw_bond_choose_output(b, &k, NULL), SW_BOND_NONE);
    sw_bond_destroy(b);
    sw_bond_destroy(NULL);

    enum sw_bond_mode m;
    enum sw_bond_lacp l;
    assert_int_equal(sw_bond_mode_from_string("balance-tcp", &m), 0);
    assert_int_equal(m, SW_BOND_BALANCE_TCP);
    assert_string_equal(sw_bond_mode_to_string(SW_BOND_BALANCE_SLB), "balance-slb");
    assert_int_equal(sw_bond_mode_from_string("balance-xor", &m), -EINVAL);
    assert_int_equal(sw_bond_lacp_from_string("passive", &l), 0);
    assert_int_equal(l, SW_BOND_LACP_PASSIVE);
    assert_int_equal(sw_bond_lacp_from_string("on", &l), -EINVAL);
    assert_int_equal(sw_bond_lacp_from_string(NULL, &l), -EINVAL);
}

static void test_active_backup_failover(void **state)
{
    (void)state;
    struct sw_bond *b = make_bond(SW_BOND_ACTIVE_BACKUP, SW_BOND_LACP_OFF, 3, 1000, 500);
    assert_int_equal(sw_bond_active_member(b), SW_BOND_NONE);
    uint64_t seq = sw_bond_change_seq(b);
    /* Nothing is up: the first member skips its updelay, the others wait. */
    sw_bond_member_set_link(b, 1, true, 0);
    sw_bond_member_set_link(b, 2, true, 0);
    assert_int_equal(sw_bond_active_member(b), 1);
    assert_true(sw_bond_change_seq(b) > seq);
    assert_true(run(b, 0));
    assert_false(run(b, 10));
    assert_false(sw_bond_member_enabled(b, 2));
    assert_false(run(b, 999));
    assert_true(run(b, 1000));
    assert_true(sw_bond_member_enabled(b, 2));
    assert_false(sw_bond_member_enabled(b, 3));

    struct sw_flow_key k;
    struct sw_flow_mask wc;
    memset(&k, 0, sizeof(k));
    memset(&wc, 0, sizeof(wc));
    k.dl_src[5] = 9;
    assert_int_equal(sw_bond_choose_output(b, &k, &wc), 1);
    assert_true(sw_flow_mask_is_catchall(&wc)); /* nothing used */

    /* Down: the downdelay keeps member 1 active for 500 ms. */
    sw_bond_member_set_link(b, 1, false, 2000);
    assert_int_equal(sw_bond_active_member(b), 1);
    assert_false(run(b, 2499));
    assert_int_equal(sw_bond_choose_output(b, &k, &wc), 1);
    assert_true(run(b, 2500));
    assert_int_equal(sw_bond_active_member(b), 2);
    assert_int_equal(sw_bond_choose_output(b, &k, &wc), 2);
    assert_false(sw_bond_member_enabled(b, 1));
    /* A flap shorter than the updelay changes nothing. */
    sw_bond_member_set_link(b, 1, true, 3000);
    sw_bond_member_set_link(b, 1, false, 3500);
    assert_false(run(b, 4500));
    assert_false(sw_bond_member_enabled(b, 1));
    /* Back for good: enabled after the updelay, but no preemption. */
    sw_bond_member_set_link(b, 1, true, 5000);
    assert_false(run(b, 5999));
    assert_true(run(b, 6000));
    assert_true(sw_bond_member_enabled(b, 1));
    assert_int_equal(sw_bond_active_member(b), 2);
    /* All down: none. */
    sw_bond_member_set_link(b, 1, false, 7000);
    sw_bond_member_set_link(b, 2, false, 7000);
    run(b, 7500);
    assert_int_equal(sw_bond_active_member(b), SW_BOND_NONE);
    assert_int_equal(sw_bond_choose_output(b, &k, &wc), SW_BOND_NONE);
    /* Member removal moves the active member. */
    sw_bond_member_set_link(b, 3, true, 8000);
    assert_int_equal(sw_bond_active_member(b), 3);
    sw_bond_member_set_link(b, 2, true, 8000);
    run(b, 9000);
    sw_bond_member_del(b, 3);
    assert_int_equal(sw_bond_active_member(b), 2);

    char text[2048];
    int n = sw_bond_format(b, text, sizeof(text));
    assert_true(n > 0 && n < (int)sizeof(text));
    assert_non_null(strstr(text, "---- bond0 ----\nbond_mode: active-backup\n"));
    assert_non_null(strstr(text, "updelay: 1000 ms\ndowndelay: 500 ms\n"));
    assert_non_null(strstr(text, "lacp_status: off\n"));
    assert_non_null(strstr(text, "member 2: enabled\n  active member\n"));
    assert_non_null(strstr(text, "member 1: disabled\n"));
    n = sw_bond_format_lacp(b, text, sizeof(text));
    assert_non_null(strstr(text, "status: off"));
    sw_bond_destroy(b);
}

static void key_with_mac(struct sw_flow_key *k, uint64_t *rng, uint16_t vid)
{
    memset(k, 0, sizeof(*k));
    uint64_t r = kk_test_rand(rng);
    memcpy(k->dl_src, &r, 6);
    k->dl_src[0] &= 0xfe;
    if (vid)
        k->vlan_tci = (uint16_t)(SW_VLAN_PRESENT | vid | (3 << SW_VLAN_PCP_SHIFT));
}

static void test_slb_distribution(void **state)
{
    (void)state;
    struct sw_bond *b = make_bond(SW_BOND_BALANCE_SLB, SW_BOND_LACP_OFF, 4, 0, 0);
    for (uint32_t i = 1; i <= 4; i++)
        sw_bond_member_set_link(b, i, true, 0);
    run(b, 0);
    enum { N = 2000 };
    static struct sw_flow_key keys[N];
    static uint32_t out[N];
    unsigned per[5] = {0};
    uint64_t rng = 77;
    for (int i = 0; i < N; i++) {
        key_with_mac(&keys[i], &rng, (uint16_t)(i % 3 ? i % 4000 : 0));
        struct sw_flow_mask wc;
        memset(&wc, 0, sizeof(wc));
        out[i] = sw_bond_choose_output(b, &keys[i], &wc);
        assert_true(out[i] >= 1 && out[i] <= 4);
        per[out[i]]++;
        /* Exactly dl_src and the VLAN ID. */
        struct sw_flow_mask expect;
        memset(&expect, 0, sizeof(expect));
        memset(expect.masks.dl_src, 0xff, 6);
        expect.masks.vlan_tci = SW_VLAN_VID_MASK;
        assert_memory_equal(&wc, &expect, sizeof(wc));
        /* Same MAC and VLAN, other fields and PCP changed: same member. */
        struct sw_flow_key k2 = keys[i];
        k2.dl_dst[3] = 0x42;
        k2.dl_type = 0x0800;
        k2.nw_src = (uint32_t)i;
        k2.tp_dst = 80;
        k2.vlan_tci ^= (uint16_t)(k2.vlan_tci ? 1u << SW_VLAN_PCP_SHIFT : 0);
        assert_int_equal(sw_bond_choose_output(b, &k2, NULL), out[i]);
    }
    for (int m = 1; m <= 4; m++)
        assert_true(per[m] > N / 4 * 7 / 10 && per[m] < N / 4 * 13 / 10);

    /* A member going down moves only its own MACs, to enabled members. */
    sw_bond_member_set_link(b, 3, false, 100);
    assert_true(run(b, 100));
    unsigned moved = 0;
    for (int i = 0; i < N; i++) {
        uint32_t now = sw_bond_choose_output(b, &keys[i], NULL);
        assert_true(now != 3 && now != SW_BOND_NONE);
        if (out[i] != 3)
            assert_int_equal(now, out[i]);
        else
            moved++;
    }
    assert_int_equal(moved, per[3]);
    /* Back up: it gets a share again, taken from the others. */
    sw_bond_member_set_link(b, 3, true, 200);
    run(b, 200);
    unsigned back = 0;
    for (int i = 0; i < N; i++)
        back += sw_bond_choose_output(b, &keys[i], NULL) == 3;
    assert_true(back > N / 4 * 7 / 10);

    /* Input: broadcast and multicast only on the active member; unicast on any
     * enabled member; nothing on a disabled one. */
    uint32_t active = sw_bond_active_member(b);
    assert_int_equal(active, 1);
    struct sw_flow_key bc;
    memset(&bc, 0, sizeof(bc));
    memset(bc.dl_dst, 0xff, 6);
    struct sw_flow_key uc = bc;
    uc.dl_dst[0] = 0x02;
    struct sw_flow_key mc = bc;
    mc.dl_dst[0] = 0x01;
    mc.dl_dst[1] = 0x00;
    mc.dl_dst[2] = 0x5e;
    struct sw_flow_mask wc;
    memset(&wc, 0, sizeof(wc));
    assert_int_equal(sw_bond_check_input(b, 1, &bc, &wc), SW_BOND_ACCEPT);
    assert_int_equal(wc.masks.dl_dst[0], 0x01);
    assert_int_equal(wc.masks.in_port, UINT32_MAX);
    assert_int_equal(sw_bond_check_input(b, 2, &bc, NULL), SW_BOND_DROP);
    assert_int_equal(sw_bond_check_input(b, 2, &mc, NULL), SW_BOND_DROP);
    assert_int_equal(sw_bond_check_input(b, 1, &mc, NULL), SW_BOND_ACCEPT);
    assert_int_equal(sw_bond_check_input(b, 2, &uc, NULL), SW_BOND_ACCEPT);
    sw_bond_member_set_link(b, 4, false, 300);
    assert_int_equal(sw_bond_check_input(b, 4, &uc, NULL), SW_BOND_DROP);

    char text[16384];
    int n = sw_bond_format(b, text, sizeof(text));
    assert_true(n > 0 && n < (int)sizeof(text));
    assert_non_null(strstr(text, "bond_mode: balance-slb\n"));
    assert_non_null(strstr(text, "member 4: disabled\n"));
    sw_bond_destroy(b);
}

static void test_slb_rebalance(void **state)
{
    (void)state;
    struct sw_bond_settings s = {.name = "slb", .mode = SW_BOND_BALANCE_SLB,
                                 .rebalance_ms = 1000};
    struct sw_bond *b;
    assert_int_equal(sw_bond_create(&s, &b), 0);
    for (uint32_t i = 1; i <= 2; i++) {
        uint8_t mac[6];
        mac_of(i, mac);
        assert_int_equal(sw_bond_member_add(b, i, mac), 0);
        sw_bond_member_set_link(b, i, true, 0);
    }
    run(b, 0);
    /* 200 flows, all the load on member 1's. */
    enum { N = 200 };
    struct sw_flow_key keys[N];
    uint64_t rng = 5;
    uint64_t load[3] = {0};
    for (int i = 0; i < N; i++) {
        key_with_mac(&keys[i], &rng, 0);
        uint32_t m = sw_bond_choose_output(b, &keys[i], NULL);
        if (m == 1) {
            sw_bond_account(b, &keys[i], 1000);
            load[1] += 1000;
        }
    }
    assert_true(load[1] > 0);
    uint64_t seq = sw_bond_change_seq(b);
    assert_false(run(b, 500));
    assert_true(run(b, 1000)); /* rebalanced */
    assert_true(sw_bond_change_seq(b) > seq);
    /* The flows that carried the load are now split about evenly. */
    uint64_t after[3] = {0};
    struct sw_bond *fresh;
    assert_int_equal(sw_bond_create(&s, &fresh), 0);
    for (uint32_t i = 1; i <= 2; i++) {
        uint8_t mac[6];
        mac_of(i, mac);
        assert_int_equal(sw_bond_member_add(fresh, i, mac), 0);
        sw_bond_member_set_link(fresh, i, true, 0);
    }
    for (int i = 0; i < N; i++) {
        if (sw_bond_choose_output(fresh, &keys[i], NULL) != 1)
            continue; /* no load */
        uint32_t m = sw_bond_choose_output(b, &keys[i], NULL);
        assert_true(m == 1 || m == 2);
        after[m] += 1000;
    }
    assert_int_equal(after[1] + after[2], load[1]);
    assert_true(after[2] >= load[1] * 3 / 10 && after[1] >= load[1] * 3 / 10);
    sw_bond_destroy(fresh);

    /* Loads decay: with no more traffic, nothing moves again. */
    assert_false(run(b, 2000));
    char text[16384];
    sw_bond_format(b, text, sizeof(text));
    assert_non_null(strstr(text, "next rebalance: 1000 ms\n"));
    assert_non_null(strstr(text, "kB load\n"));
    sw_bond_destroy(b);
}

/* ---- two bonds back to back over LACP ---- */

struct bwire {
    struct sw_bond *bond[2];
    bool cut[3];          /* per member number (1, 2): frames lost */
    struct {
        int side;
        uint32_t member;
        uint8_t data[SW_LACP_FRAME_LEN];
    } q[32];
    int n;
    int sending;
    uint64_t now;
    unsigned frames;
};

static void bwire_send(void *arg, uint32_t member, const void *frame, size_t len)
{
    struct bwire *w = arg;
    assert_int_equal(len, SW_LACP_FRAME_LEN);
    assert_true(w->n < 32);
    w->q[w->n].side = w->sending;
    w->q[w->n].member = member;
    memcpy(w->q[w->n].data, frame, len);
    w->n++;
    w->frames++;
}

static void bwire_run(struct bwire *w, uint64_t until)
{
    for (; w->now < until; w->now += 10) {
        for (int s = 0; s < 2; s++) {
            w->sending = s;
            sw_bond_run(w->bond[s], w->now, bwire_send, w);
        }
        for (int i = 0; i < w->n; i++)
            if (!w->cut[w->q[i].member])
                sw_bond_process_lacp(w->bond[1 - w->q[i].side], w->q[i].member, w->q[i].data,
                                     SW_LACP_FRAME_LEN, w->now);
        w->n = 0;
    }
}

static struct sw_bond *lacp_bond(uint8_t sys, enum sw_bond_mode mode, enum sw_bond_lacp lacp,
                                 bool fallback)
{
    struct sw_bond_settings s = {
        .name = sys == 1 ? "bondA" : "bondB",
        .mode = mode,
        .lacp = lacp,
        .lacp_fast = true,
        .lacp_fallback_ab = fallback,
        .sys_id = {0x02, 0xaa, 0, 0, 0, sys},
    };
    struct sw_bond *b;
    assert_int_equal(sw_bond_create(&s, &b), 0);
    for (uint32_t i = 1; i <= 2; i++) {
        uint8_t mac[6] = {0x02, 0xdd, 0, 0, sys, (uint8_t)i};
        assert_int_equal(sw_bond_member_add(b, i, mac), 0);
        sw_bond_member_set_link(b, i, true, 0);
    }
    return b;
}

static void tcp_key(struct sw_flow_key *k, uint64_t *rng)
{
    memset(k, 0, sizeof(*k));
    k->dl_src[0] = 0x02;
    k->dl_src[5] = 1;
    k->dl_dst[0] = 0x02;
    k->dl_dst[5] = 2;
    k->dl_type = 0x0800;
    k->nw_src = 0x0a000001;
    k->nw_dst = 0x0a000002;
    k->nw_proto = 6;
    k->nw_ttl = 64;
    k->tp_src = (uint16_t)kk_test_rand(rng);
    k->tp_dst = 80;
    k->tcp_flags = 0x02;
}

static void test_lacp_bonds_back_to_back(void **state)
{
    (void)state;
    struct bwire w;
    memset(&w, 0, sizeof(w));
    w.bond[0] = lacp_bond(1, SW_BOND_BALANCE_TCP, SW_BOND_LACP_ACTIVE, false);
    w.bond[1] = lacp_bond(2, SW_BOND_BALANCE_TCP, SW_BOND_LACP_PASSIVE, false);
    /* No partner and no fallback: the bond is down. */
    struct sw_flow_key k;
    uint64_t rng = 3;
    tcp_key(&k, &rng);
    assert_int_equal(sw_bond_choose_output(w.bond[0], &k, NULL), SW_BOND_NONE);
    assert_int_equal(sw_bond_check_input(w.bond[0], 1, &k, NULL), SW_BOND_DROP);
    assert_false(sw_bond_member_enabled(w.bond[0], 1));

    bwire_run(&w, 2000);
    assert_true(w.frames > 0);
    for (int s = 0; s < 2; s++)
        for (uint32_t m = 1; m <= 2; m++)
            assert_true(sw_bond_member_enabled(w.bond[s], m));
    char text[8192];
    sw_bond_format(w.bond[0], text, sizeof(text));
    assert_non_null(strstr(text, "lacp_status: negotiated\n"));
    assert_non_null(strstr(text, "bond_mode: balance-tcp\n"));
    sw_bond_format_lacp(w.bond[1], text, sizeof(text));
    assert_non_null(strstr(text, "status: passive negotiated\n"));

    /* balance-tcp: L2-L4 fields, flows spread over both members. */
    unsigned per[3] = {0};
    for (int i = 0; i < 400; i++) {
        tcp_key(&k, &rng);
        struct sw_flow_mask wc;
        memset(&wc, 0, sizeof(wc));
        uint32_t m = sw_bond_choose_output(w.bond[0], &k, &wc);
        assert_true(m == 1 || m == 2);
        per[m]++;
        struct sw_flow_mask e;
        memset(&e, 0, sizeof(e));
        memset(e.masks.dl_src, 0xff, 6);
        memset(e.masks.dl_dst, 0xff, 6);
        e.masks.dl_type = 0xffff;
        e.masks.vlan_tci = SW_VLAN_VID_MASK;
        e.masks.nw_src = e.masks.nw_dst = UINT32_MAX;
        e.masks.nw_proto = 0xff;
        e.masks.tp_src = e.masks.tp_dst = 0xffff;
        assert_memory_equal(&wc, &e, sizeof(wc));
        /* Bits outside the mask do not matter. */
        struct sw_flow_key k2 = k;
        k2.nw_ttl = 3;
        k2.tcp_flags = 0x10;
        k2.nw_tos = 0xb8;
        assert_int_equal(sw_bond_choose_output(w.bond[0], &k2, NULL), m);
        /* Input: LACP partners send every frame once; any enabled member. */
        assert_int_equal(sw_bond_check_input(w.bond[0], 2, &k, NULL), SW_BOND_ACCEPT);
    }
    assert_true(per[1] > 100 && per[2] > 100);
    /* ARP: L2 only. */
    struct sw_flow_key arp;
    memset(&arp, 0, sizeof(arp));
    arp.dl_type = 0x0806;
    arp.nw_proto = 1;
    arp.nw_src = 1;
    struct sw_flow_mask wc;
    memset(&wc, 0, sizeof(wc));
    sw_bond_choose_output(w.bond[0], &arp, &wc);
    assert_int_equal(wc.masks.dl_type, 0xffff);
    assert_int_equal(wc.masks.nw_src, 0);
    assert_int_equal(wc.masks.nw_proto, 0);
    assert_int_equal(wc.masks.tp_src, 0);

    /* Frames lost on member 2: both ends disable it after the timeout. */
    w.cut[2] = true;
    bwire_run(&w, w.now + 4000);
    for (int s = 0; s < 2; s++) {
        assert_false(sw_bond_member_enabled(w.bond[s], 2));
        assert_true(sw_bond_member_enabled(w.bond[s], 1));
    }
    for (int i = 0; i < 50; i++) {
        tcp_key(&k, &rng);
        assert_int_equal(sw_bond_choose_output(w.bond[0], &k, NULL), 1);
    }
    assert_int_equal(sw_bond_check_input(w.bond[0], 2, &k, NULL), SW_BOND_DROP);
    w.cut[2] = false;
    bwire_run(&w, w.now + 2000);
    assert_true(sw_bond_member_enabled(w.bond[0], 2));
    assert_true(sw_bond_member_enabled(w.bond[1], 2));

    /* Carrier loss on one side: disabled at once there. */
    sw_bond_member_set_link(w.bond[0], 1, false, w.now);
    assert_false(sw_bond_member_enabled(w.bond[0], 1));
    w.cut[1] = true;
    bwire_run(&w, w.now + 4000);
    assert_false(sw_bond_member_enabled(w.bond[1], 1));
    assert_true(sw_bond_member_enabled(w.bond[1], 2));

    /* The partner disappears entirely: down (no fallback). */
    w.cut[2] = true;
    bwire_run(&w, w.now + 7000);
    assert_int_equal(sw_bond_choose_output(w.bond[0], &k, NULL), SW_BOND_NONE);
    assert_int_equal(sw_bond_active_member(w.bond[1]), SW_BOND_NONE);
    sw_bond_destroy(w.bond[0]);
    sw_bond_destroy(w.bond[1]);
}

static void test_lacp_fallback_and_reconfigure(void **state)
{
    (void)state;
    /* A lone LACP bond with fallback: active-backup on one member. */
    struct sw_bond *b = lacp_bond(1, SW_BOND_BALANCE_TCP, SW_BOND_LACP_ACTIVE, true);
    unsigned sent = 0;
    struct bwire w;
    memset(&w, 0, sizeof(w));
    w.bond[0] = b;
    for (w.now = 0; w.now < 5000; w.now += 100) {
        sw_bond_run(b, w.now, bwire_send, &w);
        sent += (unsigned)w.n;
        w.n = 0;
    }
    assert_true(sent > 0); /* active: it keeps asking */
    assert_true(sw_bond_member_enabled(b, 1));
    assert_true(sw_bond_member_enabled(b, 2));
    assert_int_equal(sw_bond_active_member(b), 1);
    uint64_t rng = 1;
    struct sw_flow_key k;
    for (int i = 0; i < 50; i++) {
        tcp_key(&k, &rng);
        struct sw_flow_mask wc;
        memset(&wc, 0, sizeof(wc));
        assert_int_equal(sw_bond_choose_output(b, &k, &wc), 1);
        assert_true(sw_flow_mask_is_catchall(&wc));
    }
    assert_int_equal(sw_bond_check_input(b, 1, &k, NULL), SW_BOND_ACCEPT);
    assert_int_equal(sw_bond_check_input(b, 2, &k, NULL), SW_BOND_DROP);
    char text[4096];
    sw_bond_format(b, text, sizeof(text));
    assert_non_null(strstr(text, "lacp_status: configured\nlacp_fallback_ab: true\n"));

    /* Reconfigure: LACP off, balance-slb, members and links stay. */
    struct sw_bond_settings s = {.name = "x", .mode = SW_BOND_BALANCE_SLB,
                                 .lacp = SW_BOND_LACP_OFF};
    uint64_t seq = sw_bond_change_seq(b);
    assert_int_equal(sw_bond_reconfigure(b, &s), 0);
    assert_true(sw_bond_change_seq(b) > seq);
    assert_true(sw_bond_member_enabled(b, 1) && sw_bond_member_enabled(b, 2));
    unsigned per[3] = {0};
    for (int i = 0; i < 200; i++) {
        key_with_mac(&k, &rng, 0);
        per[sw_bond_choose_output(b, &k, NULL)]++;
    }
    assert_true(per[1] > 50 && per[2] > 50);
    sw_bond_format_lacp(b, text, sizeof(text));
    assert_non_null(strstr(text, "status: off"));
    /* And back to LACP without fallback: down until a partner answers. */
    s.lacp = SW_BOND_LACP_ACTIVE;
    assert_int_equal(sw_bond_reconfigure(b, &s), 0);
    sw_bond_run(b, 6000, NULL, NULL);
    assert_int_equal(sw_bond_choose_output(b, &k, NULL), SW_BOND_NONE);
    sw_bond_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_active_backup_failover),
        cmocka_unit_test(test_slb_distribution),
        cmocka_unit_test(test_slb_rebalance),
        cmocka_unit_test(test_lacp_bonds_back_to_back),
        cmocka_unit_test(test_lacp_fallback_and_reconfigure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
