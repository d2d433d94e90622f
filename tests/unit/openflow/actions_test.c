/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Actions and instructions: every refusal of the 1.3 action decoder
 * through a packet-out (whose action list is the whole body tail), the
 * same action bytes laid out by hand for every 1.3 kind, then which kinds
 * exist in which version and the validation of caller-built actions.
 */
#include "kk_common.h"
#include "ofp_test_util.h"

/* 1.3 packet-out: no buffer, in_port CONTROLLER, then @actions. */
static int packet_out13(const char *actions, struct ofp_msg *m, struct ofp_error *err)
{
    uint8_t b[512];
    size_t n = hex("04 0d 00 00 00 00 00 01 ff ff ff ff ff ff ff fd 00 00 00 00 00 00 00 00",
                   b, sizeof(b));
    size_t alen = hex(actions, b + n, sizeof(b) - n);
    set16(b + 2, (uint16_t)(n + alen));
    set16(b + 16, (uint16_t)alen);
    return decode_copy(b, n + alen, m, err);
}

static void expect_action_error(const char *actions, enum ofp_err want)
{
    struct ofp_msg m;
    struct ofp_error err;
    int rc = packet_out13(actions, &m, &err);
    if (rc == 0)
        ofp_msg_free(&m);
    if (rc != -EBADMSG || err.err != want)
        fail_msg("'%s': rc %d %s, want %s", actions, rc, ofp_err_name(err.err),
                 ofp_err_name(want));
}

static void test_action_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        enum ofp_err err;
    } cases[] = {
        {"00 00 00 10 00 00 00 01 00 00", OFPERR_OFPBAC_BAD_LEN},   /* cut */
        {"00 00 00 04", OFPERR_OFPBAC_BAD_LEN},
        {"00 00 00 00 00 00 00 00", OFPERR_OFPBAC_BAD_LEN},
        {"00 0b 00 10 00 00 00 00 00 00 00 00 00 00 00 00", OFPERR_OFPBAC_BAD_LEN},
        {"00 02 00 08 00 00 00 00", OFPERR_OFPBAC_BAD_TYPE},        /* 1.1 set_vlan_pcp */
        {"00 0d 00 08 00 00 00 00", OFPERR_OFPBAC_BAD_TYPE},        /* 1.1 set_mpls_label */
        {"00 1c 00 08 00 00 00 00", OFPERR_OFPBAC_BAD_TYPE},
        {"00 00 00 10 00 00 00 00 00 00 00 00 00 00 00 00", OFPERR_OFPBAC_BAD_OUT_PORT},
        {"00 00 00 10 ff ff ff 00 00 00 00 00 00 00 00 00", OFPERR_OFPBAC_BAD_OUT_PORT},
        {"00 00 00 10 ff ff ff f7 00 00 00 00 00 00 00 00", OFPERR_OFPBAC_BAD_OUT_PORT},
        {"00 00 00 10 ff ff ff ff 00 00 00 00 00 00 00 00", OFPERR_OFPBAC_BAD_OUT_PORT},
        {"00 11 00 08 08 00 00 00", OFPERR_OFPBAC_BAD_ARGUMENT},    /* push_vlan 0x0800 */
        {"00 13 00 08 81 00 00 00", OFPERR_OFPBAC_BAD_ARGUMENT},    /* push_mpls 0x8100 */
        {"00 1a 00 08 81 00 00 00", OFPERR_OFPBAC_BAD_ARGUMENT},    /* push_pbb 0x8100 */
        {"00 15 00 08 ff ff ff ff", OFPERR_OFPBAC_BAD_QUEUE},       /* set_queue ALL */
        {"00 16 00 08 ff ff ff 01", OFPERR_OFPBAC_BAD_OUT_GROUP},
        {"00 16 00 08 ff ff ff fc", OFPERR_OFPBAC_BAD_OUT_GROUP},   /* OFPG_ALL */
        {"00 19 00 08 80 00 0a 02", OFPERR_OFPBAC_BAD_LEN},         /* set_field cut */
        {"00 19 00 10 00 01 00 04 00 00 00 01 00 00 00 00", OFPERR_OFPBAC_BAD_SET_TYPE},
        {"00 19 00 10 80 00 50 04 00 00 00 01 00 00 00 00", OFPERR_OFPBAC_BAD_SET_TYPE},
        {"00 19 00 10 80 00 02 04 00 00 00 01 00 00 00 00", OFPERR_OFPBAC_BAD_SET_TYPE},
        {"00 19 00 10 80 00 0a 04 08 00 00 00 00 00 00 00", OFPERR_OFPBAC_BAD_SET_LEN},
        {"00 19 00 10 80 00 0b 04 08 00 ff ff 00 00 00 00", OFPERR_OFPBAC_BAD_SET_ARGUMENT},
        {"00 19 00 10 80 00 0c 02 20 00 00 00 00 00 00 00", OFPERR_OFPBAC_BAD_SET_ARGUMENT},
        {"00 19 00 10 80 00 10 01 40 00 00 00 00 00 00 00", OFPERR_OFPBAC_BAD_SET_ARGUMENT},
        {"00 19 00 18 80 00 0a 02 08 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
         OFPERR_OFPBAC_BAD_LEN},                                     /* over-padded */
        {"ff ff 00 0c 00 00 23 20 00 00 00 00", OFPERR_OFPBAC_BAD_LEN},
    };
    for (size_t i = 0; i < KK_ARRAY_SIZE(cases); i++)
        expect_action_error(cases[i].hex, cases[i].err);
}

static void test_actions13_layout(void **state)
{
    (void)state;
    const char *all =
        "00 00 00 10 00 00 00 05 00 80 00 00 00 00 00 00" /* output:5 max_len 128 */
        " 00 0b 00 08 00 00 00 00 00 0c 00 08 00 00 00 00" /* copy_ttl_out/in */
        " 00 0f 00 08 40 00 00 00 00 10 00 08 00 00 00 00" /* set_mpls_ttl 64, dec */
        " 00 11 00 08 88 a8 00 00 00 12 00 08 00 00 00 00" /* push_vlan 88a8, pop */
        " 00 13 00 08 88 48 00 00 00 14 00 08 08 00 00 00" /* push_mpls, pop_mpls */
        " 00 15 00 08 00 00 00 07 00 16 00 08 00 00 00 09" /* set_queue 7, group 9 */
        " 00 17 00 08 05 00 00 00 00 18 00 08 00 00 00 00" /* set_nw_ttl 5, dec_nw_ttl */
        " 00 19 00 10 80 00 06 06 02 00 00 00 00 01 00 00" /* set_field eth_dst */
        " 00 1a 00 08 88 e7 00 00 00 1b 00 08 00 00 00 00" /* push_pbb, pop_pbb */
        " ff ff 00 10 00 00 23 20 01 02 03 04 05 06 07 08"; /* experimenter */
    struct ofp_msg m;
    struct ofp_error err;
    int rc = packet_out13(all, &m, &err);
    if (rc)
        fail_msg("%d %s", rc, ofp_err_name(err.err));
    const struct ofp_action_list *l = &m.u.packet_out.actions;
    static const enum ofp_action_kind kinds[] = {
        OFPACT_OUTPUT,     OFPACT_COPY_TTL_OUT, OFPACT_COPY_TTL_IN, OFPACT_SET_MPLS_TTL,
        OFPACT_DEC_MPLS_TTL, OFPACT_PUSH_VLAN,  OFPACT_POP_VLAN,    OFPACT_PUSH_MPLS,
        OFPACT_POP_MPLS,   OFPACT_SET_QUEUE,    OFPACT_GROUP,       OFPACT_SET_NW_TTL,
        OFPACT_DEC_NW_TTL, OFPACT_SET_FIELD,    OFPACT_PUSH_PBB,    OFPACT_POP_PBB,
        OFPACT_EXPERIMENTER};
    assert_int_equal(l->n, KK_ARRAY_SIZE(kinds));
    for (size_t i = 0; i < l->n; i++)
        assert_int_equal(l->actions[i].kind, kinds[i]);
    assert_int_equal(l->actions[0].port, 5);
    assert_int_equal(l->actions[0].max_len, 128);
    assert_int_equal(l->actions[3].ttl, 64);
    assert_int_equal(l->actions[5].ethertype, 0x88a8);
    assert_int_equal(l->actions[8].ethertype, 0x0800);
    assert_int_equal(l->actions[9].queue_id, 7);
    assert_int_equal(l->actions[10].group_id, 9);
    assert_int_equal(l->actions[11].ttl, 5);
    assert_int_equal(l->actions[13].field, OFPXMT_ETH_DST);
    assert_int_equal(l->actions[13].field_value[5], 1);
    assert_int_equal(l->actions[16].experimenter, 0x2320);
    assert_int_equal(l->actions[16].data_len, 8);
    assert_int_equal(l->actions[16].data[7], 8);
    ofp_msg_free(&m);
}

static void test_kinds_and_validate(void **state)
{
    (void)state;
    assert_true(ofp_action_kind_in_version(OFPACT_OUTPUT, 1));
    assert_true(ofp_action_kind_in_version(OFPACT_OUTPUT, 4));
    assert_true(ofp_action_kind_in_version(OFPACT_POP_VLAN, 1));
    assert_true(ofp_action_kind_in_version(OFPACT_ENQUEUE, 1));
    assert_false(ofp_action_kind_in_version(OFPACT_ENQUEUE, 4));
    assert_false(ofp_action_kind_in_version(OFPACT_SET_FIELD, 1));
    assert_true(ofp_action_kind_in_version(OFPACT_SET_FIELD, 4));
    assert_true(ofp_action_kind_in_version(OFPACT_EXPERIMENTER, 1));
    assert_false(ofp_action_kind_in_version(OFPACT_N_KINDS, 4));
    for (int k = 0; k < OFPACT_N_KINDS; k++)
        assert_non_null(ofp_action_kind_name(k));
    assert_null(ofp_action_kind_name(OFPACT_N_KINDS));
    assert_string_equal(ofp_instruction_type_name(OFPIT_APPLY_ACTIONS), "apply_actions");
    assert_null(ofp_instruction_type_name(9));
    struct ofp_action a = {.kind = OFPACT_ENQUEUE, .port = OFPP_FLOOD, .queue_id = 1};
    assert_int_equal(ofp_action_validate(&a, 1), OFPERR_OFPBAC_BAD_OUT_PORT);
    a.port = OFPP_IN_PORT;
    assert_int_equal(ofp_action_validate(&a, 1), OFPERR_NONE);
    a.queue_id = OFPQ_ALL;
    assert_int_equal(ofp_action_validate(&a, 1), OFPERR_OFPBAC_BAD_QUEUE);
    a = (struct ofp_action){.kind = OFPACT_EXPERIMENTER, .data_len = 3, .data = (const uint8_t *)"abc"};
    assert_int_equal(ofp_action_validate(&a, 4), OFPERR_OFPBAC_BAD_LEN);
    a = (struct ofp_action){.kind = OFPACT_SET_FIELD, .field = 40};
    assert_int_equal(ofp_action_validate(&a, 4), OFPERR_OFPBAC_BAD_SET_TYPE);
    a = (struct ofp_action){.kind = OFPACT_SET_FIELD, .field = OFPXMT_IP_ECN, .field_value = {4}};
    assert_int_equal(ofp_action_validate(&a, 4), OFPERR_OFPBAC_BAD_SET_ARGUMENT);
    a = (struct ofp_action){.kind = 200};
    assert_int_equal(ofp_action_validate(&a, 4), OFPERR_OFPBAC_BAD_TYPE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_action_refusals),
        cmocka_unit_test(test_actions13_layout),
        cmocka_unit_test(test_kinds_and_validate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
