/* SPDX-License-Identifier: Apache-2.0 */
/* Printing: ovs-ofctl syntax for matches and actions, truncation, summaries. */
#include "kk_common.h"
#include "ofp_print.h"
#include "ofp_samples.h"
#include "ofp_test_util.h"

static void test_match_text(void **state)
{
    (void)state;
    char t[256];
    struct ofp_match_fields m;
    ofp_match_init(&m);
    assert_int_equal(ofp_format_match(&m, t, sizeof(t)), 0);
    assert_string_equal(t, "");
    ofp_match_set_uint(&m, OFPXMT_ETH_TYPE, 0x0800, false, 0);
    ofp_match_set_uint(&m, OFPXMT_IPV4_SRC, 0x0a000000, true, 0xff000000);
    assert_int_equal(ofp_format_match(&m, t, sizeof(t)), strlen("ip,nw_src=10.0.0.0/8"));
    assert_string_equal(t, "ip,nw_src=10.0.0.0/8");
    ofp_match_set_uint(&m, OFPXMT_IP_PROTO, 17, false, 0);
    ofp_match_set_uint(&m, OFPXMT_UDP_DST, 53, false, 0);
    ofp_match_set_uint(&m, OFPXMT_IN_PORT, OFPP_LOCAL, false, 0);
    ofp_match_set_uint(&m, OFPXMT_VLAN_VID, OFPVID_PRESENT | 10, false, 0);
    ofp_match_set_uint(&m, OFPXMT_IPV4_DST, 0x0a000001, true, 0xff0000ff);
    ofp_format_match(&m, t, sizeof(t));
    assert_string_equal(t, "udp,in_port=LOCAL,dl_vlan=10,nw_src=10.0.0.0/8,"
                           "nw_dst=10.0.0.1/255.0.0.255,tp_dst=53");
    ofp_match_init(&m);
    ofp_match_set_uint(&m, OFPXMT_ETH_TYPE, 0x86dd, false, 0);
    static const uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8}, k[16] = {0xff, 0xff, 0xff, 0xff};
    ofp_match_set(&m, OFPXMT_IPV6_DST, a, k);
    ofp_match_set_uint(&m, OFPXMT_METADATA, 0x10, true, 0xf0);
    ofp_format_match(&m, t, sizeof(t));
    assert_string_equal(t, "ipv6,metadata=0x10/0xf0,ipv6_dst=2001:db8::/32");
    ofp_match_init(&m);
    ofp_match_set_uint(&m, OFPXMT_ETH_TYPE, 0x88cc, false, 0);
    static const uint8_t mac[6] = {1, 0x80, 0xc2, 0, 0, 0xe};
    ofp_match_set(&m, OFPXMT_ETH_DST, mac, NULL);
    ofp_format_match(&m, t, sizeof(t));
    assert_string_equal(t, "dl_dst=01:80:c2:00:00:0e,dl_type=0x88cc");
    /* snprintf semantics */
    size_t full = ofp_format_match(&m, t, 5);
    assert_int_equal(full, strlen("dl_dst=01:80:c2:00:00:0e,dl_type=0x88cc"));
    assert_string_equal(t, "dl_d");
    assert_int_equal(ofp_format_match(&m, NULL, 0), full);
}

static void test_actions_text(void **state)
{
    (void)state;
    char t[512];
    struct ofp_action acts[] = {
        {.kind = OFPACT_OUTPUT, .port = 2},
        {.kind = OFPACT_SET_VLAN_VID, .vlan_vid = 10},
        {.kind = OFPACT_OUTPUT, .port = OFPP_CONTROLLER, .max_len = 128},
        {.kind = OFPACT_OUTPUT, .port = OFPP_NORMAL},
        {.kind = OFPACT_SET_NW_DST, .ipv4 = 0xc0a80001},
        {.kind = OFPACT_SET_DL_SRC, .mac = {2, 0, 0, 0, 0, 1}},
        {.kind = OFPACT_ENQUEUE, .port = 1, .queue_id = 3},
        {.kind = OFPACT_POP_VLAN},
        {.kind = OFPACT_SET_FIELD, .field = OFPXMT_IPV4_SRC, .field_value = {10, 0, 0, 9}},
        {.kind = OFPACT_SET_FIELD, .field = OFPXMT_VLAN_VID, .field_value = {0x10, 0x0a}},
        {.kind = OFPACT_PUSH_VLAN, .ethertype = 0x8100},
        {.kind = OFPACT_GROUP, .group_id = 4},
        {.kind = OFPACT_DEC_NW_TTL},
    };
    struct ofp_action_list l = {acts, KK_ARRAY_SIZE(acts)};
    ofp_format_actions(&l, t, sizeof(t));
    assert_string_equal(t, "output:2,mod_vlan_vid:10,CONTROLLER:128,NORMAL,"
                           "mod_nw_dst:192.168.0.1,mod_dl_src:02:00:00:00:00:01,enqueue:1:3,"
                           "strip_vlan,set_field:10.0.0.9->ipv4_src,set_field:4106->vlan_vid,"
                           "push_vlan:0x8100,group:4,dec_ttl");
    struct ofp_action_list empty = {NULL, 0};
    ofp_format_actions(&empty, t, sizeof(t));
    assert_string_equal(t, "drop");
    struct ofp_instruction insts[] = {
        {.type = OFPIT_APPLY_ACTIONS, .actions = {acts, 1}},
        {.type = OFPIT_WRITE_ACTIONS, .actions = {acts + 3, 1}},
        {.type = OFPIT_WRITE_METADATA, .metadata = 1, .metadata_mask = 0xff},
        {.type = OFPIT_METER, .meter_id = 2},
        {.type = OFPIT_GOTO_TABLE, .table_id = 3},
    };
    struct ofp_instruction_list il = {insts, KK_ARRAY_SIZE(insts)};
    ofp_format_instructions(&il, t, sizeof(t));
    assert_string_equal(t, "output:2,write_actions(NORMAL),write_metadata:0x1/0xff,meter:2,"
                           "goto_table:3");
}

static void test_summaries(void **state)
{
    (void)state;
    static const uint8_t versions[] = {OFP10_VERSION, OFP13_VERSION};
    for (size_t vi = 0; vi < 2; vi++) {
        struct ofp_msg s[OFP_SAMPLES_MAX];
        size_t n = ofp_samples(versions[vi], s, OFP_SAMPLES_MAX);
        for (size_t i = 0; i < n; i++) {
            char t[2048];
            size_t len = ofp_msg_summary(&s[i], t, sizeof(t));
            assert_int_equal(len, strlen(t));
            assert_null(strchr(t, '\n'));
            assert_non_null(strstr(t, versions[vi] == 1 ? "(OF1.0)" : "(OF1.3)"));
        }
    }
    struct ofp_msg fm[OFP_SAMPLES_MAX];
    size_t n = ofp_samples(OFP10_VERSION, fm, OFP_SAMPLES_MAX);
    for (size_t i = 0; i < n; i++) {
        if (fm[i].type != OFP_MSG_FLOW_MOD)
            continue;
        char t[1024];
        ofp_msg_summary(&fm[i], t, sizeof(t));
        assert_string_equal(
            t, "OFPT_FLOW_MOD (OF1.0) xid=0x200: ADD cookie=0x1234,idle_timeout=30,"
               "hard_timeout=600,priority=100,tcp,in_port=1,dl_src=02:00:00:00:00:01,"
               "dl_vlan=10,dl_vlan_pcp=3,nw_tos=184,nw_src=10.0.0.0/8,nw_dst=192.168.0.1,"
               "tp_dst=80 actions=mod_vlan_vid:10,mod_vlan_pcp:5,"
               "mod_dl_src:02:00:00:00:00:aa,mod_dl_dst:02:00:00:00:00:bb,mod_nw_src:10.0.0.1,"
               "mod_nw_dst:192.168.1.1,mod_nw_tos:184,mod_tp_src:1234,mod_tp_dst:8080,"
               "enqueue:3:1,strip_vlan,output:2,CONTROLLER:128");
        break;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_text),
        cmocka_unit_test(test_actions_text),
        cmocka_unit_test(test_summaries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
