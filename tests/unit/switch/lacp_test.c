/* SPDX-License-Identifier: Apache-2.0 */
/*
 * LACP: malformed PDUs first (every field the parser checks, every short
 * length, from exact-size heap copies so ASan sees overreads), then the
 * byte layout at known offsets and build/parse round trips, then two or
 * three sw_lacp instances wired back to back through a fake wire driven
 * by explicit time: negotiation, timeouts, link loss, passive/active
 * combinations, key mismatch, the transmit rate limit.
 */
#include <errno.h>

#include "kk_common.h"
#include "kk_test.h"
#include "lacp.h"

static const uint8_t SRC_MAC[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x11};

static struct sw_lacp_pdu sample_pdu(void)
{
    struct sw_lacp_pdu pdu = {
        .actor = {.sys_priority = 0x1234, .sys_id = {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff},
                  .key = 0x0102, .port_priority = 0x8000, .port_id = 0x0007, .state = 0x3d},
        .partner = {.sys_priority = 65534, .sys_id = {2, 4, 6, 8, 10, 12}, .key = 9,
                    .port_priority = 65535, .port_id = 3, .state = 0x0f},
        .collector_max_delay = 0x55aa,
    };
    return pdu;
}

/* Field by field: struct sw_lacp_info has a padding byte that no one
 * initializes (not even a designated initializer is bound to), so its
 * bytes must not be compared. */
static void assert_info_equal(const struct sw_lacp_info *a, const struct sw_lacp_info *b)
{
    assert_int_equal(a->sys_priority, b->sys_priority);
    assert_memory_equal(a->sys_id, b->sys_id, sizeof(a->sys_id));
    assert_int_equal(a->key, b->key);
    assert_int_equal(a->port_priority, b->port_priority);
    assert_int_equal(a->port_id, b->port_id);
    assert_int_equal(a->state, b->state);
}

static int parse_copy(const uint8_t *frame, size_t len, char *err, size_t errlen)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, frame, len);
    struct sw_lacp_pdu pdu;
    int rc = sw_lacp_pdu_parse(copy, len, &pdu, err, errlen);
    free(copy);
    return rc;
}

/* ---- malformed frames ---- */

static void test_parse_refuses_malformed(void **state)
{
    (void)state;
    struct sw_lacp_pdu pdu = sample_pdu();
    uint8_t good[SW_LACP_FRAME_LEN];
    assert_int_equal(sw_lacp_pdu_build(&pdu, SRC_MAC, good), SW_LACP_FRAME_LEN);
    char err[160];
    assert_int_equal(parse_copy(good, sizeof(good), err, sizeof(err)), 0);

    static const struct {
        size_t off;
        uint8_t value;
        const char *expect; /* substring of the message */
    } cases[] = {
        {0, 0x03, "destination"},
        {5, 0x03, "destination"},
        {12, 0x86, "ethertype"},
        {13, 0x0a, "ethertype"},
        {14, 2, "subtype"},   /* marker protocol */
        {14, 0, "subtype"},
        {15, 2, "version"},
        {15, 0, "version"},
        {16, 2, "actor TLV type"},
        {17, 19, "actor TLV length"},
        {17, 0, "actor TLV length"},
        {36, 1, "partner TLV type"},
        {37, 21, "partner TLV length"},
        {56, 4, "collector TLV type"},
        {57, 20, "collector TLV length"},
        {72, 1, "terminator TLV type"},
        {73, 2, "terminator TLV length"},
    };
    for (size_t i = 0; i < KK_ARRAY_SIZE(cases); i++) {
        uint8_t bad[SW_LACP_FRAME_LEN];
        memcpy(bad, good, sizeof(bad));
        bad[cases[i].off] = cases[i].value;
        err[0] = '\0';
        int rc = parse_copy(bad, sizeof(bad), err, sizeof(err));
        if (rc != -EINVAL || !strstr(err, cases[i].expect))
            fail_msg("offset %zu = %u: rc %d, '%s'", cases[i].off, cases[i].value, rc, err);
        assert_null(strchr(err, '\n'));
    }
    /* Every short length, including an empty frame. */
    for (size_t len = 0; len < SW_LACP_FRAME_LEN; len++) {
        err[0] = '\0';
        assert_int_equal(parse_copy(good, len, err, sizeof(err)), -EINVAL);
        assert_true(strlen(err) > 0);
    }
    /* Longer frames (padding, FCS kept) are fine; reserved bytes ignored. */
    uint8_t longer[SW_LACP_FRAME_LEN + 4];
    memcpy(longer, good, sizeof(good));
    memset(longer + sizeof(good), 0xee, 4);
    longer[33] = longer[100] = 0x77;
    assert_int_equal(parse_copy(longer, sizeof(longer), err, sizeof(err)), 0);
    /* NULL arguments, tiny error buffers. */
    assert_int_equal(sw_lacp_pdu_parse(NULL, 10, &pdu, NULL, 0), -EINVAL);
    assert_int_equal(sw_lacp_pdu_parse(good, sizeof(good), NULL, err, sizeof(err)), -EINVAL);
    assert_int_equal(parse_copy(good, 20, err, 4), -EINVAL);
    assert_int_equal(strlen(err), 3);
    assert_false(sw_lacp_is_lacp_frame(good, 14));
    assert_false(sw_lacp_is_lacp_frame(NULL, 0));
    uint8_t marker[SW_LACP_FRAME_LEN];
    memcpy(marker, good, sizeof(marker));
    marker[14] = 2;
    assert_false(sw_lacp_is_lacp_frame(marker, sizeof(marker)));
    assert_true(sw_lacp_is_lacp_frame(good, sizeof(good)));
}

/* ---- layout ---- */

static void test_build_layout_and_round_trip(void **state)
{
    (void)state;
    struct sw_lacp_pdu pdu = sample_pdu();
    uint8_t f[SW_LACP_FRAME_LEN + 8];
    memset(f, 0xcc, sizeof(f));
    assert_int_equal(sw_lacp_pdu_build(&pdu, SRC_MAC, f), 124);
    assert_int_equal(f[SW_LACP_FRAME_LEN], 0xcc); /* nothing written past the frame */
    static const uint8_t head[] = {
        0x01, 0x80, 0xc2, 0x00, 0x00, 0x02,             /* slow protocols */
        0x02, 0x00, 0x00, 0x00, 0x00, 0x11,             /* source */
        0x88, 0x09,                                     /* ethertype */
        0x01, 0x01,                                     /* subtype LACP, version 1 */
        0x01, 0x14,                                     /* actor TLV, 20 */
        0x12, 0x34, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, /* sys priority, system */
        0x01, 0x02, 0x80, 0x00, 0x00, 0x07, 0x3d,       /* key, port prio, port, state */
        0x00, 0x00, 0x00,                               /* reserved */
        0x02, 0x14,                                     /* partner TLV, 20 */
        0xff, 0xfe, 0x02, 0x04, 0x06, 0x08, 0x0a, 0x0c,
        0x00, 0x09, 0xff, 0xff, 0x00, 0x03, 0x0f,
        0x00, 0x00, 0x00,
        0x03, 0x10, 0x55, 0xaa,                         /* collector TLV, 16, max delay */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0x00, 0x00,                                     /* terminator */
    };
    assert_int_equal(sizeof(head), 74);
    assert_memory_equal(f, head, sizeof(head));
    for (size_t i = 74; i < SW_LACP_FRAME_LEN; i++)
        assert_int_equal(f[i], 0);
    struct sw_lacp_pdu back;
    char err[128];
    assert_int_equal(sw_lacp_pdu_parse(f, SW_LACP_FRAME_LEN, &back, err, sizeof(err)), 0);
    assert_info_equal(&back.actor, &pdu.actor);
    assert_info_equal(&back.partner, &pdu.partner);
    assert_int_equal(back.collector_max_delay, 0x55aa);

    /* Random round trips. */
    uint64_t rng = 0x1acb;
    for (int n = 0; n < 1000; n++) {
        struct sw_lacp_pdu p;
        memset(&p, 0, sizeof(p));
        uint8_t *b = (uint8_t *)&p.actor;
        struct sw_lacp_info *infos[2] = {&p.actor, &p.partner};
        for (int k = 0; k < 2; k++) {
            struct sw_lacp_info *x = infos[k];
            x->sys_priority = (uint16_t)kk_test_rand(&rng);
            for (int j = 0; j < 6; j++)
                x->sys_id[j] = (uint8_t)kk_test_rand(&rng);
            x->key = (uint16_t)kk_test_rand(&rng);
            x->port_priority = (uint16_t)kk_test_rand(&rng);
            x->port_id = (uint16_t)kk_test_rand(&rng);
            x->state = (uint8_t)kk_test_rand(&rng);
        }
        (void)b;
        p.collector_max_delay = (uint16_t)kk_test_rand(&rng);
        uint8_t fr[SW_LACP_FRAME_LEN];
        sw_lacp_pdu_build(&p, SRC_MAC, fr);
        struct sw_lacp_pdu q;
        assert_int_equal(sw_lacp_pdu_parse(fr, sizeof(fr), &q, NULL, 0), 0);
        assert_info_equal(&q.actor, &p.actor);
        assert_info_equal(&q.partner, &p.partner);
        assert_int_equal(q.collector_max_delay, p.collector_max_delay);
    }
}

/* ---- back to back ---- */

#define MAX_SIDES 3
#define MAX_LINKS 4
#define MAX_QUEUED 64

struct link {
    int side_a, side_b;
    uint32_t member_a, member_b;
    bool cut; /* frames are lost (carrier stays up) */
};

struct frame {
    int side;
    uint32_t member;
    uint8_t data[SW_LACP_FRAME_LEN];
    size_t len;
};

struct wire {
    struct sw_lacp *side[MAX_SIDES];
    int n_sides;
    struct link links[MAX_LINKS];
    int n_links;
    struct frame queue[MAX_QUEUED];
    int n_queued;
    int sending_side;
    /* transmission times of side 0, member 1 (rate-limit check) */
    uint64_t tx_times[512];
    int n_tx_times;
    uint64_t now;
};

static void wire_send(void *arg, uint32_t member, const void *frame, size_t len)
{
    struct wire *w = arg;
    assert_int_equal(len, SW_LACP_FRAME_LEN);
    assert_true(sw_lacp_is_lacp_frame(frame, len));
    assert_true(w->n_queued < MAX_QUEUED);
    struct frame *f = &w->queue[w->n_queued++];
    f->side = w->sending_side;
    f->member = member;
    memcpy(f->data, frame, len);
    f->len = len;
    if (w->sending_side == 0 && member == 1 && w->n_tx_times < 512)
        w->tx_times[w->n_tx_times++] = w->now;
}

static void wire_link(struct wire *w, int a, uint32_t ma, int b, uint32_t mb)
{
    w->links[w->n_links++] = (struct link){.side_a = a, .side_b = b, .member_a = ma,
                                           .member_b = mb};
}

static void wire_deliver(struct wire *w)
{
    for (int i = 0; i < w->n_queued; i++) {
        struct frame *f = &w->queue[i];
        for (int l = 0; l < w->n_links; l++) {
            struct link *k = &w->links[l];
            if (k->cut)
                continue;
            if (k->side_a == f->side && k->member_a == f->member)
                assert_int_equal(sw_lacp_process_frame(w->side[k->side_b], k->member_b, f->data,
                                                       f->len, w->now),
                                 0);
            else if (k->side_b == f->side && k->member_b == f->member)
                assert_int_equal(sw_lacp_process_frame(w->side[k->side_a], k->member_a, f->data,
                                                       f->len, w->now),
                                 0);
        }
    }
    w->n_queued = 0;
}

/* Run every side each @step ms until @until. */
static void wire_run(struct wire *w, uint64_t until, uint64_t step)
{
    for (; w->now < until; w->now += step) {
        for (int s = 0; s < w->n_sides; s++) {
            w->sending_side = s;
            uint64_t next = sw_lacp_run(w->side[s], w->now, wire_send, w);
            assert_true(next > w->now);
        }
        wire_deliver(w);
    }
}

static struct sw_lacp *make_lacp(uint8_t sys_last, bool active, bool fast, uint16_t key,
                                 int n_members)
{
    struct sw_lacp_settings s = {
        .name = "test",
        .sys_id = {0x02, 0xaa, 0x00, 0x00, 0x00, sys_last},
        .active = active,
        .fast = fast,
        .key = key,
    };
    struct sw_lacp *l;
    assert_int_equal(sw_lacp_create(&s, &l), 0);
    for (int i = 1; i <= n_members; i++) {
        uint8_t mac[6] = {0x02, 0xbb, 0, 0, sys_last, (uint8_t)i};
        assert_int_equal(sw_lacp_member_add(l, (uint32_t)i, (uint16_t)i, 65535, mac), 0);
        sw_lacp_member_set_link(l, (uint32_t)i, true);
    }
    return l;
}

static void wire_pair(struct wire *w, bool a_active, bool b_active, bool fast, int n)
{
    memset(w, 0, sizeof(*w));
    w->side[0] = make_lacp(1, a_active, fast, 0, n);
    w->side[1] = make_lacp(2, b_active, fast, 0, n);
    w->n_sides = 2;
    for (int i = 1; i <= n; i++)
        wire_link(w, 0, (uint32_t)i, 1, (uint32_t)i);
}

static void wire_free(struct wire *w)
{
    for (int s = 0; s < w->n_sides; s++)
        sw_lacp_destroy(w->side[s]);
}

static uint8_t actor_state(struct sw_lacp *l, uint32_t m)
{
    struct sw_lacp_member_stats st;
    assert_int_equal(sw_lacp_member_stats(l, m, &st), 0);
    return st.actor_state;
}

#define IN_USE (SW_LACP_STATE_AGGREGATION | SW_LACP_STATE_SYNC | SW_LACP_STATE_COLLECTING | \
                SW_LACP_STATE_DISTRIBUTING)

static void test_refused_calls(void **state)
{
    (void)state;
    struct sw_lacp *l;
    assert_int_equal(sw_lacp_create(NULL, &l), -EINVAL);
    l = make_lacp(1, true, true, 0, 2);
    uint8_t mac[6] = {0};
    assert_int_equal(sw_lacp_member_add(l, 1, 1, 1, mac), -EEXIST);
    assert_int_equal(sw_lacp_member_add(l, 3, 1, 1, NULL), -EINVAL);
    uint8_t junk[SW_LACP_FRAME_LEN] = {0};
    assert_int_equal(sw_lacp_process_frame(l, 9, junk, sizeof(junk), 0), -ENOENT);
    assert_int_equal(sw_lacp_process_frame(l, 1, junk, sizeof(junk), 0), -EINVAL);
    struct sw_lacp_member_stats st;
    assert_int_equal(sw_lacp_member_stats(l, 1, &st), 0);
    assert_int_equal(st.rx_errors, 1);
    assert_int_equal(st.rx_pdus, 0);
    assert_int_equal(sw_lacp_member_stats(l, 9, &st), -ENOENT);
    assert_false(sw_lacp_member_may_enable(l, 9));
    sw_lacp_member_del(l, 9);
    sw_lacp_member_del(l, 2);
    assert_int_equal(sw_lacp_member_stats(l, 2, &st), -ENOENT);
    sw_lacp_destroy(l);
    sw_lacp_destroy(NULL);
}

static void test_negotiate_back_to_back(void **state)
{
    (void)state;
    struct wire w;
    wire_pair(&w, true, true, true, 2);
    uint64_t seq0 = sw_lacp_change_seq(w.side[0]);
    assert_int_equal(sw_lacp_status(w.side[0]), SW_LACP_CONFIGURED);
    wire_run(&w, 2000, 10);
    for (int s = 0; s < 2; s++) {
        assert_int_equal(sw_lacp_status(w.side[s]), SW_LACP_NEGOTIATED);
        for (uint32_t m = 1; m <= 2; m++) {
            assert_true(sw_lacp_member_may_enable(w.side[s], m));
            struct sw_lacp_member_stats st;
            assert_int_equal(sw_lacp_member_stats(w.side[s], m, &st), 0);
            assert_int_equal(st.actor_state, IN_USE | SW_LACP_STATE_ACTIVITY |
                                                 SW_LACP_STATE_TIMEOUT);
            assert_int_equal(st.partner_state, st.actor_state);
            assert_true(st.rx_pdus > 0 && st.tx_pdus > 0);
            assert_int_equal(st.rx_errors, 0);
        }
    }
    assert_true(sw_lacp_change_seq(w.side[0]) > seq0);

    /* Steady state: fast rate, one PDU a second, and never more than 3 in
     * any second even during negotiation. */
    wire_run(&w, 12000, 10);
    for (int i = 3; i < w.n_tx_times; i++)
        assert_true(w.tx_times[i] - w.tx_times[i - 3] >= 1000);
    int late = 0;
    for (int i = 0; i < w.n_tx_times; i++)
        late += w.tx_times[i] >= 2000;
    assert_true(late >= 9 && late <= 11);

    char text[4096];
    int n = sw_lacp_format(w.side[0], text, sizeof(text));
    assert_true(n > 0 && n < (int)sizeof(text));
    assert_non_null(strstr(text, "status: active negotiated"));
    assert_non_null(strstr(text, "member 1: current attached"));
    assert_non_null(strstr(text, "partner sys_id: 02:aa:00:00:00:02"));
    assert_non_null(strstr(text, "actor state: activity timeout aggregation synchronized "
                                 "collecting distributing\n"));
    char small[16];
    assert_int_equal(sw_lacp_format(w.side[0], small, sizeof(small)), n);
    assert_int_equal(strlen(small), 15);
    wire_free(&w);
}

static void test_timeout_and_link_down(void **state)
{
    (void)state;
    struct wire w;
    wire_pair(&w, true, true, true, 2);
    wire_run(&w, 2000, 10);
    assert_true(sw_lacp_member_may_enable(w.side[0], 1));

    /* Frames lost on link 1: after 3 s (short timeout) both ends drop it. */
    w.links[0].cut = true;
    uint64_t cut_at = w.now;
    while (sw_lacp_member_may_enable(w.side[0], 1) && w.now < cut_at + 10000)
        wire_run(&w, w.now + 10, 10);
    assert_true(w.now >= cut_at + 2000 && w.now <= cut_at + 3100);
    wire_run(&w, w.now + 100, 10);
    assert_false(sw_lacp_member_may_enable(w.side[1], 1));
    assert_true(actor_state(w.side[0], 1) & SW_LACP_STATE_EXPIRED);
    assert_true(sw_lacp_member_may_enable(w.side[0], 2));
    assert_true(sw_lacp_member_may_enable(w.side[1], 2));
    /* Another timeout: defaulted. */
    wire_run(&w, w.now + 3100, 10);
    assert_true(actor_state(w.side[0], 1) & SW_LACP_STATE_DEFAULTED);
    assert_int_equal(sw_lacp_status(w.side[0]), SW_LACP_NEGOTIATED);
    /* Repaired: back in use. */
    w.links[0].cut = false;
    wire_run(&w, w.now + 3000, 10);
    assert_true(sw_lacp_member_may_enable(w.side[0], 1));
    assert_true(sw_lacp_member_may_enable(w.side[1], 1));

    /* Carrier loss: at once, on the side that sees it. */
    uint64_t seq = sw_lacp_change_seq(w.side[0]);
    sw_lacp_member_set_link(w.side[0], 2, false);
    assert_false(sw_lacp_member_may_enable(w.side[0], 2));
    assert_true(sw_lacp_change_seq(w.side[0]) > seq);
    w.links[1].cut = true; /* a dead link carries nothing */
    wire_run(&w, w.now + 4000, 10);
    assert_false(sw_lacp_member_may_enable(w.side[1], 2));
    assert_true(sw_lacp_member_may_enable(w.side[1], 1));
    w.links[1].cut = false;
    sw_lacp_member_set_link(w.side[0], 2, true);
    wire_run(&w, w.now + 3000, 10);
    assert_true(sw_lacp_member_may_enable(w.side[0], 2));
    assert_true(sw_lacp_member_may_enable(w.side[1], 2));

    /* Everything lost: both sides fall back to configured. */
    w.links[0].cut = w.links[1].cut = true;
    wire_run(&w, w.now + 7000, 10);
    assert_int_equal(sw_lacp_status(w.side[0]), SW_LACP_CONFIGURED);
    assert_int_equal(sw_lacp_status(w.side[1]), SW_LACP_CONFIGURED);
    wire_free(&w);
}

static void test_slow_timeout(void **state)
{
    (void)state;
    struct wire w;
    wire_pair(&w, true, true, false, 1);
    wire_run(&w, 5000, 100);
    assert_true(sw_lacp_member_may_enable(w.side[0], 1));
    /* Slow: a PDU every 30 s once negotiated. */
    int before = w.n_tx_times;
    wire_run(&w, 65000, 100);
    int sent = w.n_tx_times - before;
    assert_true(sent >= 1 && sent <= 3);
    w.links[0].cut = true;
    wire_run(&w, w.now + 60000, 100);
    assert_true(sw_lacp_member_may_enable(w.side[0], 1)); /* 90 s timeout */
    wire_run(&w, w.now + 35000, 100);
    assert_false(sw_lacp_member_may_enable(w.side[0], 1));
    wire_free(&w);
}

static void test_passive(void **state)
{
    (void)state;
    struct wire w;
    wire_pair(&w, false, false, true, 2);
    wire_run(&w, 20000, 50);
    for (int s = 0; s < 2; s++) {
        assert_int_equal(sw_lacp_status(w.side[s]), SW_LACP_CONFIGURED);
        struct sw_lacp_member_stats st;
        assert_int_equal(sw_lacp_member_stats(w.side[s], 1, &st), 0);
        assert_int_equal(st.tx_pdus, 0);
        assert_false(st.may_enable);
        assert_true(st.actor_state & SW_LACP_STATE_DEFAULTED);
        assert_false(st.actor_state & SW_LACP_STATE_ACTIVITY);
    }
    wire_free(&w);

    wire_pair(&w, true, false, true, 2);
    wire_run(&w, 3000, 10);
    for (int s = 0; s < 2; s++) {
        assert_int_equal(sw_lacp_status(w.side[s]), SW_LACP_NEGOTIATED);
        assert_true(sw_lacp_member_may_enable(w.side[s], 1));
        assert_true(sw_lacp_member_may_enable(w.side[s], 2));
    }
    assert_false(actor_state(w.side[1], 1) & SW_LACP_STATE_ACTIVITY);
    /* The active side goes away: the passive side stops talking. */
    w.links[0].cut = w.links[1].cut = true;
    wire_run(&w, w.now + 8000, 10);
    struct sw_lacp_member_stats st;
    assert_int_equal(sw_lacp_member_stats(w.side[1], 1, &st), 0);
    uint64_t tx = st.tx_pdus;
    wire_run(&w, w.now + 5000, 10);
    assert_int_equal(sw_lacp_member_stats(w.side[1], 1, &st), 0);
    assert_int_equal(st.tx_pdus, tx);
    assert_int_equal(sw_lacp_status(w.side[1]), SW_LACP_CONFIGURED);
    wire_free(&w);
}

static void test_key_mismatch(void **state)
{
    (void)state;
    /* Side 0 has two members; member 1 goes to a partner with key 10,
     * member 2 to the same system with key 20: only one aggregates. */
    struct wire w;
    memset(&w, 0, sizeof(w));
    w.side[0] = make_lacp(1, true, true, 0, 2);
    w.side[1] = make_lacp(2, true, true, 10, 1);
    w.side[2] = make_lacp(2, true, true, 20, 1);
    w.n_sides = 3;
    wire_link(&w, 0, 1, 1, 1);
    wire_link(&w, 0, 2, 2, 1);
    wire_run(&w, 5000, 10);
    assert_int_equal(sw_lacp_status(w.side[0]), SW_LACP_NEGOTIATED);
    bool m1 = sw_lacp_member_may_enable(w.side[0], 1);
    bool m2 = sw_lacp_member_may_enable(w.side[0], 2);
    assert_true(m1 != m2);
    /* The lead is the better port of the better system (side 0: port 1). */
    assert_true(m1);
    assert_true(sw_lacp_member_may_enable(w.side[1], 1));
    assert_false(sw_lacp_member_may_enable(w.side[2], 1));
    assert_false(actor_state(w.side[0], 2) & SW_LACP_STATE_SYNC);
    /* Loss of the lead link: the other one takes over. */
    w.links[0].cut = true;
    sw_lacp_member_set_link(w.side[0], 1, false);
    wire_run(&w, w.now + 2000, 10);
    assert_true(sw_lacp_member_may_enable(w.side[0], 2));
    assert_true(sw_lacp_member_may_enable(w.side[2], 1));
    wire_free(&w);
}

static void test_loopback_is_not_aggregated(void **state)
{
    (void)state;
    struct wire w;
    memset(&w, 0, sizeof(w));
    w.side[0] = make_lacp(1, true, true, 0, 2);
    w.n_sides = 1;
    wire_link(&w, 0, 1, 0, 2);
    wire_run(&w, 5000, 10);
    assert_false(sw_lacp_member_may_enable(w.side[0], 1));
    assert_false(sw_lacp_member_may_enable(w.side[0], 2));
    wire_free(&w);
}

/* ---- against a hand-driven peer (as Open vSwitch would answer) ---- */

struct capture {
    uint8_t frame[SW_LACP_FRAME_LEN];
    int count;
};

static void capture_send(void *arg, uint32_t member, const void *frame, size_t len)
{
    struct capture *c = arg;
    assert_int_equal(member, 1);
    assert_int_equal(len, SW_LACP_FRAME_LEN);
    memcpy(c->frame, frame, len);
    c->count++;
}

static void test_partner_view_and_immediate_tx(void **state)
{
    (void)state;
    struct sw_lacp *l = make_lacp(1, true, false, 0, 1); /* slow */
    struct capture c = {.count = 0};
    sw_lacp_run(l, 0, capture_send, &c);
    assert_int_equal(c.count, 1);
    struct sw_lacp_pdu mine;
    assert_int_equal(sw_lacp_pdu_parse(c.frame, sizeof(c.frame), &mine, NULL, 0), 0);
    /* First contact: active, aggregatable, defaulted, no timeout bit (slow),
     * our system, default priority, key = the first member's port number. */
    assert_int_equal(mine.actor.state, SW_LACP_STATE_ACTIVITY | SW_LACP_STATE_AGGREGATION |
                                           SW_LACP_STATE_DEFAULTED);
    assert_int_equal(mine.actor.sys_priority, 65534);
    assert_int_equal(mine.actor.key, 1);
    assert_int_equal(mine.actor.port_id, 1);
    assert_int_equal(mine.actor.port_priority, 65535);
    assert_memory_equal(c.frame + 6, ((uint8_t[]){0x02, 0xbb, 0, 0, 1, 1}), 6);
    struct sw_lacp_info zero;
    memset(&zero, 0, sizeof(zero));
    assert_info_equal(&mine.partner, &zero);
    /* Nothing more for 30 s (slow, no partner), not even at 29.9 s. */
    sw_lacp_run(l, 1000, capture_send, &c);
    sw_lacp_run(l, 29900, capture_send, &c);
    assert_int_equal(c.count, 1);

    /* The peer answers in sync but with a wrong view of us (other key). */
    struct sw_lacp_pdu peer = {
        .actor = {.sys_priority = 65534, .sys_id = {0x02, 0x77, 0, 0, 0, 1}, .key = 5,
                  .port_priority = 65535, .port_id = 3,
                  .state = SW_LACP_STATE_ACTIVITY | SW_LACP_STATE_TIMEOUT |
                           SW_LACP_STATE_AGGREGATION | SW_LACP_STATE_SYNC |
                           SW_LACP_STATE_COLLECTING | SW_LACP_STATE_DISTRIBUTING},
        .partner = mine.actor,
    };
    peer.partner.key = 99;
    uint8_t f[SW_LACP_FRAME_LEN];
    uint8_t peer_mac[6] = {0x02, 0x77, 0, 0, 0, 9};
    sw_lacp_pdu_build(&peer, peer_mac, f);
    assert_int_equal(sw_lacp_process_frame(l, 1, f, sizeof(f), 29950), 0);
    assert_false(sw_lacp_member_may_enable(l, 1));
    assert_int_equal(sw_lacp_status(l), SW_LACP_NEGOTIATED);
    /* Our state changed (attached: SYNC, not defaulted): sent at once, and
     * at the partner's fast rate from now on. */
    sw_lacp_run(l, 29950, capture_send, &c);
    assert_int_equal(c.count, 2);
    assert_int_equal(sw_lacp_pdu_parse(c.frame, sizeof(c.frame), &mine, NULL, 0), 0);
    assert_int_equal(mine.actor.state, SW_LACP_STATE_ACTIVITY | SW_LACP_STATE_AGGREGATION |
                                           SW_LACP_STATE_SYNC);
    /* We echo what we recorded: its SYNC does not count yet. */
    struct sw_lacp_info recorded = peer.actor;
    recorded.state &= (uint8_t)~SW_LACP_STATE_SYNC;
    assert_info_equal(&mine.partner, &recorded);

    /* Now it has heard us right: in use. */
    peer.partner = mine.actor;
    sw_lacp_pdu_build(&peer, peer_mac, f);
    assert_int_equal(sw_lacp_process_frame(l, 1, f, sizeof(f), 30000), 0);
    assert_true(sw_lacp_member_may_enable(l, 1));
    sw_lacp_run(l, 30000, capture_send, &c);
    assert_int_equal(c.count, 3); /* COLLECTING/DISTRIBUTING are news */
    assert_int_equal(sw_lacp_pdu_parse(c.frame, sizeof(c.frame), &mine, NULL, 0), 0);
    assert_int_equal(mine.actor.state, SW_LACP_STATE_ACTIVITY | SW_LACP_STATE_AGGREGATION |
                                           IN_USE);
    /* It loses its view of our aggregation bit: not in use, and we say so
     * at once (third PDU within 150 ms, still allowed). */
    struct sw_lacp_info good_view = mine.actor;
    peer.partner = good_view;
    peer.partner.state = 0;
    sw_lacp_pdu_build(&peer, peer_mac, f);
    assert_int_equal(sw_lacp_process_frame(l, 1, f, sizeof(f), 30100), 0);
    assert_false(sw_lacp_member_may_enable(l, 1));
    sw_lacp_run(l, 30100, capture_send, &c);
    assert_int_equal(c.count, 4);
    /* Its reply is stale (it still believes we are in use, and it dropped
     * its own SYNC): we must correct it, but a fourth PDU within one second
     * has to wait until the first of the three is a second old. */
    peer.partner = good_view;
    peer.actor.state &= (uint8_t)~SW_LACP_STATE_SYNC;
    sw_lacp_pdu_build(&peer, peer_mac, f);
    assert_int_equal(sw_lacp_process_frame(l, 1, f, sizeof(f), 30200), 0);
    assert_false(sw_lacp_member_may_enable(l, 1));
    uint64_t next = sw_lacp_run(l, 30200, capture_send, &c);
    assert_int_equal(c.count, 4);
    assert_int_equal(next, 29950 + 1000);
    sw_lacp_run(l, 30949, capture_send, &c);
    assert_int_equal(c.count, 4);
    sw_lacp_run(l, 30950, capture_send, &c);
    assert_int_equal(c.count, 5);
    /* Fast periodic thereafter (the peer asked with its TIMEOUT bit). */
    sw_lacp_run(l, 31900, capture_send, &c);
    assert_int_equal(c.count, 5);
    sw_lacp_run(l, 31950, capture_send, &c);
    assert_int_equal(c.count, 6);
    sw_lacp_destroy(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_refuses_malformed),
        cmocka_unit_test(test_refused_calls),
        cmocka_unit_test(test_build_layout_and_round_trip),
        cmocka_unit_test(test_negotiate_back_to_back),
        cmocka_unit_test(test_timeout_and_link_down),
        cmocka_unit_test(test_slow_timeout),
        cmocka_unit_test(test_passive),
        cmocka_unit_test(test_key_mismatch),
        cmocka_unit_test(test_loopback_is_not_aggregated),
        cmocka_unit_test(test_partner_view_and_immediate_tx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
