/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "kk_common.h"
#include "ofp_samples.h"

static const uint8_t payload[] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9};
/* A small Ethernet/IPv4/TCP frame for packet-in/out data. */
static const uint8_t frame[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
    0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, 0x0a, 0x00,
    0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x04, 0xd2, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x50, 0x02, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t exp_data[8] = {1, 2, 3, 4, 5, 6, 7, 8};

static struct ofp_port ports10[2] = {
    {.port_no = 1, .hw_addr = {2, 0, 0, 0, 0, 1}, .name = "eth1", .config = 0, .state = 0,
     .curr = 0x82, .advertised = 0x20, .supported = 0xff, .peer = 0},
    {.port_no = OFPP_LOCAL, .hw_addr = {2, 0, 0, 0, 0, 0xfe}, .name = "br0", .config = 1,
     .state = 1},
};
static struct ofp_port ports13[2] = {
    {.port_no = 7, .hw_addr = {2, 0, 0, 0, 0, 7}, .name = "vhost-user-7", .curr = 0x2840,
     .advertised = 0x800, .supported = 0x2fff, .curr_speed = 10000000, .max_speed = 10000000},
    {.port_no = 0xfffffffe, .hw_addr = {2, 0, 0, 0, 0, 0xfe}, .name = "br0", .config = 1,
     .state = 4},
};

static struct ofp_action acts10[] = {
    {.kind = OFPACT_SET_VLAN_VID, .vlan_vid = 10},
    {.kind = OFPACT_SET_VLAN_PCP, .vlan_pcp = 5},
    {.kind = OFPACT_SET_DL_SRC, .mac = {2, 0, 0, 0, 0, 0xaa}},
    {.kind = OFPACT_SET_DL_DST, .mac = {2, 0, 0, 0, 0, 0xbb}},
    {.kind = OFPACT_SET_NW_SRC, .ipv4 = 0x0a000001},
    {.kind = OFPACT_SET_NW_DST, .ipv4 = 0xc0a80101},
    {.kind = OFPACT_SET_NW_TOS, .nw_tos = 0xb8},
    {.kind = OFPACT_SET_TP_SRC, .tp_port = 1234},
    {.kind = OFPACT_SET_TP_DST, .tp_port = 8080},
    {.kind = OFPACT_ENQUEUE, .port = 3, .queue_id = 1},
    {.kind = OFPACT_POP_VLAN},
    {.kind = OFPACT_OUTPUT, .port = 2, .max_len = 0},
    {.kind = OFPACT_OUTPUT, .port = OFPP_CONTROLLER, .max_len = 128},
};
static struct ofp_action acts10_out[] = {{.kind = OFPACT_OUTPUT, .port = OFPP_FLOOD}};
static struct ofp_action acts10_vendor[] = {
    {.kind = OFPACT_EXPERIMENTER, .experimenter = 0x2320, .data = exp_data, .data_len = 8}};

static struct ofp_action acts13[] = {
    {.kind = OFPACT_COPY_TTL_OUT},
    {.kind = OFPACT_COPY_TTL_IN},
    {.kind = OFPACT_SET_MPLS_TTL, .ttl = 63},
    {.kind = OFPACT_DEC_MPLS_TTL},
    {.kind = OFPACT_PUSH_VLAN, .ethertype = 0x8100},
    {.kind = OFPACT_SET_FIELD, .field = OFPXMT_VLAN_VID, .field_value = {0x10, 0x0a}},
    {.kind = OFPACT_POP_VLAN},
    {.kind = OFPACT_PUSH_MPLS, .ethertype = 0x8847},
    {.kind = OFPACT_POP_MPLS, .ethertype = 0x0800},
    {.kind = OFPACT_SET_QUEUE, .queue_id = 2},
    {.kind = OFPACT_SET_NW_TTL, .ttl = 10},
    {.kind = OFPACT_DEC_NW_TTL},
    {.kind = OFPACT_SET_FIELD, .field = OFPXMT_IPV4_SRC, .field_value = {10, 1, 2, 3}},
    {.kind = OFPACT_SET_FIELD, .field = OFPXMT_ETH_DST, .field_value = {2, 0, 0, 0, 0, 9}},
    {.kind = OFPACT_SET_FIELD,
     .field = OFPXMT_IPV6_DST,
     .field_value = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
    {.kind = OFPACT_PUSH_PBB, .ethertype = 0x88e7},
    {.kind = OFPACT_POP_PBB},
    {.kind = OFPACT_GROUP, .group_id = 5},
    {.kind = OFPACT_OUTPUT, .port = 2, .max_len = 0xffff},
};
static struct ofp_action acts13_write[] = {
    {.kind = OFPACT_SET_FIELD, .field = OFPXMT_TCP_DST, .field_value = {0x1f, 0x90}},
    {.kind = OFPACT_OUTPUT, .port = 3},
};
static struct ofp_action acts13_out[] = {{.kind = OFPACT_OUTPUT, .port = OFPP_IN_PORT}};
static struct ofp_action acts13_b1[] = {{.kind = OFPACT_OUTPUT, .port = 1}};
static struct ofp_action acts13_b2[] = {
    {.kind = OFPACT_SET_FIELD, .field = OFPXMT_ETH_SRC, .field_value = {2, 0, 0, 0, 0, 2}},
    {.kind = OFPACT_OUTPUT, .port = 2}};
static struct ofp_action acts13_exp[] = {
    {.kind = OFPACT_EXPERIMENTER, .experimenter = 0x2320, .data = exp_data, .data_len = 8}};

static struct ofp_instruction insts13[] = {
    {.type = OFPIT_METER, .meter_id = 1},
    {.type = OFPIT_APPLY_ACTIONS, .actions = {acts13, KK_ARRAY_SIZE(acts13)}},
    {.type = OFPIT_CLEAR_ACTIONS},
    {.type = OFPIT_WRITE_ACTIONS, .actions = {acts13_write, KK_ARRAY_SIZE(acts13_write)}},
    {.type = OFPIT_WRITE_METADATA, .metadata = 0x1234, .metadata_mask = 0xffff},
    {.type = OFPIT_GOTO_TABLE, .table_id = 3},
};
static struct ofp_instruction insts13_stats[] = {
    {.type = OFPIT_APPLY_ACTIONS, .actions = {acts13_out, 1}},
    {.type = OFPIT_EXPERIMENTER, .experimenter = 0x4f4e4600, .data = exp_data, .data_len = 8},
};

static struct ofp_bucket buckets_select[] = {
    {.weight = 3, .watch_port = OFPP_ANY, .watch_group = OFPG_ANY, .actions = {acts13_b1, 1}},
    {.weight = 1, .watch_port = OFPP_ANY, .watch_group = OFPG_ANY, .actions = {acts13_b2, 2}},
};
static struct ofp_bucket buckets_ff[] = {
    {.watch_port = 1, .watch_group = OFPG_ANY, .actions = {acts13_b1, 1}},
    {.watch_port = OFPP_ANY, .watch_group = 7, .actions = {acts13_exp, 1}},
};
static struct ofp_bucket buckets_indirect[] = {
    {.watch_port = OFPP_ANY, .watch_group = OFPG_ANY, .actions = {acts13_b2, 2}},
};
static struct ofp_bucket buckets_all[] = {
    {.watch_port = OFPP_ANY, .watch_group = OFPG_ANY, .actions = {acts13_b1, 1}},
    {.watch_port = OFPP_ANY, .watch_group = OFPG_ANY, .actions = {acts13_out, 1}},
    {.watch_port = OFPP_ANY, .watch_group = OFPG_ANY, .actions = {NULL, 0}},
};

static struct ofp_meter_band bands[] = {
    {.type = OFPMBT_DROP, .rate = 10000, .burst_size = 1000},
    {.type = OFPMBT_DSCP_REMARK, .rate = 5000, .burst_size = 500, .prec_level = 2},
};
static struct ofp_meter_band bands_exp[] = {
    {.type = OFPMBT_EXPERIMENTER, .rate = 1, .experimenter = 0x2320},
};

static struct ofp_desc_stats desc = {
    .mfr_desc = "kvmkit", .hw_desc = "virtual", .sw_desc = "kvmkit-switchd 0.1",
    .serial_num = "none", .dp_desc = "br0"};

static struct ofp_table_stats tables10[] = {
    {.table_id = 0, .name = "classifier", .wildcards = 0x3fffff, .max_entries = 1000000,
     .active_count = 3, .lookup_count = 100, .matched_count = 90},
};
static struct ofp_table_stats tables13[] = {
    {.table_id = 0, .active_count = 3, .lookup_count = 100, .matched_count = 90},
    {.table_id = 1, .active_count = 0, .lookup_count = 10, .matched_count = 0},
};
static struct ofp_port_stats pstats[] = {
    {.port_no = 1, .rx_packets = 1, .tx_packets = 2, .rx_bytes = 3, .tx_bytes = 4,
     .rx_dropped = 5, .tx_dropped = 6, .rx_errors = 7, .tx_errors = 8, .rx_frame_err = 9,
     .rx_over_err = 10, .rx_crc_err = 11, .collisions = 12},
};
static struct ofp_port_stats pstats13[] = {
    {.port_no = 1, .rx_packets = 1, .tx_packets = 2, .rx_bytes = 3, .tx_bytes = 4,
     .rx_dropped = 5, .tx_dropped = 6, .rx_errors = 7, .tx_errors = 8, .rx_frame_err = 9,
     .rx_over_err = 10, .rx_crc_err = 11, .collisions = 12, .duration_sec = 13,
     .duration_nsec = 14},
};
static struct ofp_queue_stats qstats10[] = {
    {.port_no = 1, .queue_id = 1, .tx_bytes = 100, .tx_packets = 2, .tx_errors = 0}};
static struct ofp_queue_stats qstats13[] = {
    {.port_no = 1, .queue_id = 1, .tx_bytes = 100, .tx_packets = 2, .duration_sec = 5}};
static struct ofp_bucket_counter bcount[] = {{1, 100}, {2, 200}};
static struct ofp_group_stats gstats[] = {
    {.group_id = 1, .ref_count = 2, .packet_count = 3, .byte_count = 300, .duration_sec = 9,
     .buckets = bcount, .n_buckets = 2}};
static struct ofp_group_desc gdesc[] = {
    {.type = OFPGT_SELECT, .group_id = 1, .buckets = buckets_select, .n_buckets = 2},
    {.type = OFPGT_INDIRECT, .group_id = 2, .buckets = buckets_indirect, .n_buckets = 1}};
static struct ofp_meter_band_stats mbstats[] = {{10, 1000}, {20, 2000}};
static struct ofp_meter_stats mstats[] = {
    {.meter_id = 1, .flow_count = 2, .packet_in_count = 3, .byte_in_count = 4,
     .duration_sec = 5, .bands = mbstats, .n_bands = 2}};
static struct ofp_meter_config mconfig[] = {
    {.flags = OFPMF_KBPS | OFPMF_BURST, .meter_id = 1, .bands = bands, .n_bands = 2}};
static uint64_t tf_inst_ids[] = {1, 3, 4, 5, 6, (uint64_t)0x2320 << 32 | 0xffff};
static uint64_t tf_tables[] = {1, 2, 3};
static uint64_t tf_action_ids[] = {0, 17, 18, 22, 25};
static uint64_t tf_oxm_ids[] = {0x80000004, 0x80000606, 0x80000a02, 0x80001604};
static struct ofp_table_feature_prop tf_props[] = {
    {.type = OFPTFPT_INSTRUCTIONS, .ids = tf_inst_ids, .n_ids = 6},
    {.type = OFPTFPT_NEXT_TABLES, .ids = tf_tables, .n_ids = 3},
    {.type = OFPTFPT_APPLY_ACTIONS, .ids = tf_action_ids, .n_ids = 5},
    {.type = OFPTFPT_MATCH, .ids = tf_oxm_ids, .n_ids = 4},
    {.type = OFPTFPT_WILDCARDS, .ids = tf_oxm_ids, .n_ids = 2},
    {.type = OFPTFPT_APPLY_SETFIELD_MISS, .ids = tf_oxm_ids + 1, .n_ids = 1},
    {.type = OFPTFPT_EXPERIMENTER, .experimenter = 0x2320, .exp_type = 7,
     .data = {exp_data, 5}},
};
static struct ofp_table_features tfeat[] = {
    {.table_id = 0, .name = "classifier", .metadata_match = UINT64_MAX,
     .metadata_write = UINT64_MAX, .config = 3, .max_entries = 1000000, .props = tf_props,
     .n_props = KK_ARRAY_SIZE(tf_props)},
    {.table_id = 1, .name = "t1", .max_entries = 100},
};
static struct ofp_flow_stats fstats10[1], fstats13[1];

static struct ofp_match_fields match_tcp10(void)
{
    struct ofp_match_fields m;
    ofp_match_init(&m);
    ofp_match_set_uint(&m, OFPXMT_IN_PORT, 1, false, 0);
    ofp_match_set_uint(&m, OFPXMT_ETH_TYPE, 0x0800, false, 0);
    ofp_match_set_uint(&m, OFPXMT_VLAN_VID, OFPVID_PRESENT | 10, false, 0);
    ofp_match_set_uint(&m, OFPXMT_VLAN_PCP, 3, false, 0);
    ofp_match_set_uint(&m, OFPXMT_IP_PROTO, 6, false, 0);
    ofp_match_set_uint(&m, OFPXMT_IPV4_SRC, 0x0a000000, true, 0xff000000);
    ofp_match_set_uint(&m, OFPXMT_IPV4_DST, 0xc0a80001, false, 0);
    ofp_match_set_uint(&m, OFPXMT_TCP_DST, 80, false, 0);
    ofp_match_set_uint(&m, OFPXMT_IP_DSCP, 46, false, 0);
    static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
    ofp_match_set(&m, OFPXMT_ETH_SRC, mac, NULL);
    return m;
}

static struct ofp_match_fields match_rich13(void)
{
    struct ofp_match_fields m = match_tcp10();
    ofp_match_set_uint(&m, OFPXMT_METADATA, 0x1200, true, 0xff00);
    ofp_match_set_uint(&m, OFPXMT_IP_ECN, 1, false, 0);
    ofp_match_set_uint(&m, OFPXMT_TUNNEL_ID, 42, false, 0);
    static const uint8_t mac[6] = {0x01, 0, 0, 0, 0, 0}, mmask[6] = {0x01, 0, 0, 0, 0, 0};
    ofp_match_set(&m, OFPXMT_ETH_DST, mac, mmask);
    return m;
}

static struct ofp_match_fields match_v6(void)
{
    struct ofp_match_fields m;
    ofp_match_init(&m);
    ofp_match_set_uint(&m, OFPXMT_ETH_TYPE, 0x86dd, false, 0);
    ofp_match_set_uint(&m, OFPXMT_IP_PROTO, 58, false, 0);
    ofp_match_set_uint(&m, OFPXMT_ICMPV6_TYPE, 135, false, 0);
    static const uint8_t a[16] = {0xfe, 0x80, [15] = 1}, net[16] = {0xfe, 0x80},
                         k[16] = {0xff, 0xff, 0xff, 0xff};
    ofp_match_set(&m, OFPXMT_IPV6_SRC, net, k);
    ofp_match_set(&m, OFPXMT_IPV6_ND_TARGET, a, NULL);
    ofp_match_set_uint(&m, OFPXMT_IPV6_FLABEL, 0x12345, true, 0xfffff);
    ofp_match_set_uint(&m, OFPXMT_IPV6_EXTHDR, 0x4, true, 0x1ff);
    return m;
}

static struct ofp_msg base(uint8_t v, enum ofp_msg_type t, uint32_t xid)
{
    struct ofp_msg m;
    memset(&m, 0, sizeof(m));
    m.version = v;
    m.type = (uint8_t)t;
    m.xid = xid;
    return m;
}

#define ADD(msg)                   \
    do {                           \
        if (n < max)               \
            out[n] = (msg);        \
        n++;                       \
    } while (0)

static struct ofp_msg mp(uint8_t v, bool reply, uint16_t type, uint32_t xid)
{
    struct ofp_msg m = base(v, reply ? OFP_MSG_MULTIPART_REPLY : OFP_MSG_MULTIPART_REQUEST, xid);
    m.u.multipart.type = type;
    return m;
}

static size_t samples_common(uint8_t v, struct ofp_msg *out, size_t max, size_t n)
{
    struct ofp_msg m;
    uint32_t xid = v == OFP10_VERSION ? 0x100 : 0x400;
    m = base(v, OFP_MSG_HELLO, xid++);
    ADD(m);
    m = base(v, OFP_MSG_HELLO, xid++);
    m.u.hello.has_bitmap = true;
    m.u.hello.bitmap = 1u << 1 | 1u << 4;
    ADD(m);
    m = base(v, OFP_MSG_ERROR, xid++);
    /* the data of an error is the start of the offending message */
    static const uint8_t bad10[] = {1, 9, 0, 12, 0, 0, 0, 7, 0, 8, 0, 128};
    static const uint8_t bad13[] = {4, 9, 0, 12, 0, 0, 0, 7, 0, 8, 0, 128};
    m.u.error.type = 1;
    m.u.error.code = 6; /* OFPBRC_BAD_LEN */
    m.u.error.data = (struct ofp_bytes){v == OFP10_VERSION ? bad10 : bad13, 12};
    ADD(m);
    m = base(v, OFP_MSG_ECHO_REQUEST, xid++);
    m.u.echo = (struct ofp_bytes){payload, sizeof(payload)};
    ADD(m);
    m = base(v, OFP_MSG_ECHO_REPLY, xid++);
    ADD(m);
    m = base(v, OFP_MSG_EXPERIMENTER, xid++);
    m.u.experimenter.experimenter = OFP_NICIRA_VENDOR_ID;
    m.u.experimenter.exp_type = 10;
    m.u.experimenter.has_exp_type = true;
    m.u.experimenter.data = (struct ofp_bytes){payload, 4};
    ADD(m);
    ADD(base(v, OFP_MSG_FEATURES_REQUEST, xid++));
    m = base(v, OFP_MSG_FEATURES_REPLY, xid++);
    m.u.features.datapath_id = 0x0000020000000001ull;
    m.u.features.n_buffers = 256;
    m.u.features.n_tables = v == OFP10_VERSION ? 1 : 254;
    m.u.features.capabilities = 0xc7;
    if (v == OFP10_VERSION) {
        m.u.features.actions = 0xfff;
        m.u.features.ports = ports10;
        m.u.features.n_ports = 2;
    } else {
        m.u.features.auxiliary_id = 1;
    }
    ADD(m);
    ADD(base(v, OFP_MSG_GET_CONFIG_REQUEST, xid++));
    m = base(v, OFP_MSG_GET_CONFIG_REPLY, xid++);
    m.u.config = (struct ofp_switch_config){1, 128};
    ADD(m);
    m = base(v, OFP_MSG_SET_CONFIG, xid++);
    m.u.config = (struct ofp_switch_config){0, 0xffff};
    ADD(m);
    m = base(v, OFP_MSG_PACKET_IN, xid++);
    m.u.packet_in.buffer_id = OFP_NO_BUFFER;
    m.u.packet_in.total_len = sizeof(frame);
    m.u.packet_in.reason = 1;
    m.u.packet_in.data = (struct ofp_bytes){frame, sizeof(frame)};
    if (v == OFP10_VERSION) {
        m.u.packet_in.in_port = 3;
    } else {
        m.u.packet_in.table_id = 2;
        m.u.packet_in.cookie = 0xabcdef;
        ofp_match_set_uint(&m.u.packet_in.match, OFPXMT_IN_PORT, 3, false, 0);
    }
    ADD(m);
    m = base(v, OFP_MSG_FLOW_REMOVED, xid++);
    m.u.flow_removed.match = match_tcp10();
    m.u.flow_removed.cookie = 0x77;
    m.u.flow_removed.priority = 100;
    m.u.flow_removed.reason = 2;
    m.u.flow_removed.duration_sec = 60;
    m.u.flow_removed.duration_nsec = 5000;
    m.u.flow_removed.idle_timeout = 10;
    m.u.flow_removed.packet_count = 1000;
    m.u.flow_removed.byte_count = 64000;
    if (v != OFP10_VERSION) {
        m.u.flow_removed.table_id = 1;
        m.u.flow_removed.hard_timeout = 300;
    }
    ADD(m);
    m = base(v, OFP_MSG_PORT_STATUS, xid++);
    m.u.port_status.reason = 2;
    m.u.port_status.desc = v == OFP10_VERSION ? ports10[0] : ports13[0];
    ADD(m);
    m = base(v, OFP_MSG_PACKET_OUT, xid++);
    m.u.packet_out.buffer_id = OFP_NO_BUFFER;
    m.u.packet_out.in_port = OFPP_CONTROLLER;
    m.u.packet_out.actions =
        v == OFP10_VERSION ? (struct ofp_action_list){acts10_out, 1}
                           : (struct ofp_action_list){acts13_out, 1};
    m.u.packet_out.data = (struct ofp_bytes){frame, sizeof(frame)};
    ADD(m);
    m = base(v, OFP_MSG_PORT_MOD, xid++);
    m.u.port_mod.port_no = 1;
    memcpy(m.u.port_mod.hw_addr, ports10[0].hw_addr, 6);
    m.u.port_mod.config = 1;
    m.u.port_mod.mask = 1;
    m.u.port_mod.advertise = 0x20;
    ADD(m);
    ADD(base(v, OFP_MSG_BARRIER_REQUEST, xid++));
    ADD(base(v, OFP_MSG_BARRIER_REPLY, xid++));

    /* multipart / stats */
    ADD(mp(v, false, OFPMP_DESC, xid++));
    m = mp(v, true, OFPMP_DESC, xid++);
    m.u.multipart.u.desc = &desc;
    ADD(m);
    m = mp(v, false, OFPMP_FLOW, xid++);
    m.u.multipart.u.flow_req.match = match_tcp10();
    m.u.multipart.u.flow_req.table_id = 0xff;
    m.u.multipart.u.flow_req.out_port = OFPP_ANY;
    if (v != OFP10_VERSION) {
        m.u.multipart.u.flow_req.out_group = OFPG_ANY;
        m.u.multipart.u.flow_req.cookie = 0x10;
        m.u.multipart.u.flow_req.cookie_mask = 0xf0;
    }
    ADD(m);
    m = mp(v, true, OFPMP_FLOW, xid++);
    m.u.multipart.flags = OFPMPF_MORE;
    m.u.multipart.list.flow = v == OFP10_VERSION ? fstats10 : fstats13;
    m.u.multipart.n = 1;
    ADD(m);
    m = mp(v, false, OFPMP_AGGREGATE, xid++);
    m.u.multipart.u.flow_req.table_id = 0xff;
    m.u.multipart.u.flow_req.out_port = OFPP_ANY;
    m.u.multipart.u.flow_req.out_group = v == OFP10_VERSION ? 0 : OFPG_ANY;
    ADD(m);
    m = mp(v, true, OFPMP_AGGREGATE, xid++);
    m.u.multipart.u.aggregate = (struct ofp_aggregate_stats){10, 1000, 3};
    ADD(m);
    ADD(mp(v, false, OFPMP_TABLE, xid++));
    m = mp(v, true, OFPMP_TABLE, xid++);
    m.u.multipart.list.table = v == OFP10_VERSION ? tables10 : tables13;
    m.u.multipart.n = v == OFP10_VERSION ? 1 : 2;
    ADD(m);
    m = mp(v, false, OFPMP_PORT_STATS, xid++);
    m.u.multipart.u.port_no = OFPP_ANY;
    ADD(m);
    m = mp(v, true, OFPMP_PORT_STATS, xid++);
    m.u.multipart.list.port = v == OFP10_VERSION ? pstats : pstats13;
    m.u.multipart.n = 1;
    ADD(m);
    m = mp(v, false, OFPMP_QUEUE, xid++);
    m.u.multipart.u.queue_req.port_no = OFPP_ANY;
    m.u.multipart.u.queue_req.queue_id = 0xffffffff;
    ADD(m);
    m = mp(v, true, OFPMP_QUEUE, xid++);
    m.u.multipart.list.queue = v == OFP10_VERSION ? qstats10 : qstats13;
    m.u.multipart.n = 1;
    ADD(m);
    m = mp(v, false, OFPMP_EXPERIMENTER, xid++);
    m.u.multipart.u.experimenter.experimenter = OFP_NICIRA_VENDOR_ID;
    m.u.multipart.u.experimenter.exp_type = v == OFP10_VERSION ? 0 : 3;
    m.u.multipart.u.experimenter.data = (struct ofp_bytes){payload, 8};
    ADD(m);
    return n;
}

size_t ofp_samples(uint8_t v, struct ofp_msg *out, size_t max)
{
    struct ofp_msg m;
    size_t n = 0;
    n = samples_common(v, out, max, n);
    uint32_t xid = v == OFP10_VERSION ? 0x200 : 0x500;

    fstats10[0] = (struct ofp_flow_stats){.table_id = 0, .match = match_tcp10(),
                                          .duration_sec = 1, .duration_nsec = 2, .priority = 100,
                                          .idle_timeout = 5, .hard_timeout = 6, .cookie = 7,
                                          .packet_count = 8, .byte_count = 9,
                                          .actions = {acts10, KK_ARRAY_SIZE(acts10)}};
    fstats13[0] = (struct ofp_flow_stats){.table_id = 1, .match = match_v6(), .duration_sec = 1,
                                          .duration_nsec = 2, .priority = 100,
                                          .idle_timeout = 5, .hard_timeout = 6, .flags = 1,
                                          .cookie = 7, .packet_count = 8, .byte_count = 9,
                                          .instructions = {insts13_stats, 2}};

    m = base(v, OFP_MSG_FLOW_MOD, xid++);
    m.u.flow_mod.cookie = 0x1234;
    m.u.flow_mod.command = OFPFC_ADD;
    m.u.flow_mod.idle_timeout = 30;
    m.u.flow_mod.hard_timeout = 600;
    m.u.flow_mod.priority = 100;
    m.u.flow_mod.buffer_id = OFP_NO_BUFFER;
    m.u.flow_mod.out_port = OFPP_ANY;
    m.u.flow_mod.flags = OFPFF_SEND_FLOW_REM | OFPFF_CHECK_OVERLAP;
    if (v == OFP10_VERSION) {
        m.u.flow_mod.match = match_tcp10();
        m.u.flow_mod.actions = (struct ofp_action_list){acts10, KK_ARRAY_SIZE(acts10)};
        ADD(m);
        m.xid = xid++;
        m.u.flow_mod.command = OFPFC_DELETE_STRICT;
        m.u.flow_mod.actions = (struct ofp_action_list){acts10_vendor, 1};
        ofp_match_init(&m.u.flow_mod.match);
        ofp_match_set_uint(&m.u.flow_mod.match, OFPXMT_ETH_TYPE, 0x0806, false, 0);
        ofp_match_set_uint(&m.u.flow_mod.match, OFPXMT_ARP_OP, 1, false, 0);
        ofp_match_set_uint(&m.u.flow_mod.match, OFPXMT_ARP_TPA, 0x0a000001, false, 0);
        ADD(m);
        return n;
    }
    m.u.flow_mod.cookie_mask = 0;
    m.u.flow_mod.table_id = 1;
    m.u.flow_mod.out_group = OFPG_ANY;
    m.u.flow_mod.flags |= OFPFF13_NO_BYT_COUNTS;
    m.u.flow_mod.match = match_rich13();
    m.u.flow_mod.instructions = (struct ofp_instruction_list){insts13, KK_ARRAY_SIZE(insts13)};
    ADD(m);
    m.xid = xid++;
    m.u.flow_mod.command = OFPFC_MODIFY;
    m.u.flow_mod.match = match_v6();
    m.u.flow_mod.instructions = (struct ofp_instruction_list){insts13_stats, 2};
    ADD(m);

    m = base(v, OFP_MSG_GROUP_MOD, xid++);
    m.u.group_mod = (struct ofp_group_mod){OFPGC_ADD, OFPGT_SELECT, 1, buckets_select, 2};
    ADD(m);
    m = base(v, OFP_MSG_GROUP_MOD, xid++);
    m.u.group_mod = (struct ofp_group_mod){OFPGC_MODIFY, OFPGT_FF, 2, buckets_ff, 2};
    ADD(m);
    m = base(v, OFP_MSG_GROUP_MOD, xid++);
    m.u.group_mod = (struct ofp_group_mod){OFPGC_ADD, OFPGT_INDIRECT, 3, buckets_indirect, 1};
    ADD(m);
    m = base(v, OFP_MSG_GROUP_MOD, xid++);
    m.u.group_mod = (struct ofp_group_mod){OFPGC_ADD, OFPGT_ALL, 4, buckets_all, 3};
    ADD(m);
    m = base(v, OFP_MSG_GROUP_MOD, xid++);
    m.u.group_mod = (struct ofp_group_mod){OFPGC_DELETE, OFPGT_ALL, OFPG_ALL, NULL, 0};
    ADD(m);
    m = base(v, OFP_MSG_TABLE_MOD, xid++);
    m.u.table_mod = (struct ofp_table_mod){OFPTT_ALL, 3};
    ADD(m);
    m = base(v, OFP_MSG_METER_MOD, xid++);
    m.u.meter_mod = (struct ofp_meter_mod){OFPMC_ADD, OFPMF_KBPS | OFPMF_BURST | OFPMF_STATS, 1,
                                           bands, 2};
    ADD(m);
    m = base(v, OFP_MSG_METER_MOD, xid++);
    m.u.meter_mod = (struct ofp_meter_mod){OFPMC_MODIFY, OFPMF_PKTPS, 2, bands_exp, 1};
    ADD(m);
    m = base(v, OFP_MSG_ROLE_REQUEST, xid++);
    m.u.role = (struct ofp_role){OFPCR_ROLE_MASTER, 7};
    ADD(m);
    m = base(v, OFP_MSG_ROLE_REPLY, xid++);
    m.u.role = (struct ofp_role){OFPCR_ROLE_MASTER, 7};
    ADD(m);
    ADD(base(v, OFP_MSG_GET_ASYNC_REQUEST, xid++));
    m = base(v, OFP_MSG_GET_ASYNC_REPLY, xid++);
    m.u.async = (struct ofp_async_config){{3, 0}, {7, 7}, {15, 0}};
    ADD(m);
    m = base(v, OFP_MSG_SET_ASYNC, xid++);
    m.u.async = (struct ofp_async_config){{1, 0}, {7, 0}, {1, 0}};
    ADD(m);
    m = base(v, OFP_MSG_ERROR, xid++);
    m.u.error.type = OFPET_EXPERIMENTER;
    m.u.error.code = 2600;
    m.u.error.experimenter = OFP_ONF_EXPERIMENTER_ID;
    ADD(m);

    m = mp(v, false, OFPMP_GROUP, xid++);
    m.u.multipart.u.group_id = OFPG_ALL;
    ADD(m);
    m = mp(v, true, OFPMP_GROUP, xid++);
    m.u.multipart.list.group = gstats;
    m.u.multipart.n = 1;
    ADD(m);
    ADD(mp(v, false, OFPMP_GROUP_DESC, xid++));
    m = mp(v, true, OFPMP_GROUP_DESC, xid++);
    m.u.multipart.list.group_desc = gdesc;
    m.u.multipart.n = 2;
    ADD(m);
    ADD(mp(v, false, OFPMP_GROUP_FEATURES, xid++));
    m = mp(v, true, OFPMP_GROUP_FEATURES, xid++);
    m.u.multipart.u.group_features =
        (struct ofp_group_features){0xf, 0x3, {100, 100, 100, 100}, {1, 1, 1, 1}};
    ADD(m);
    m = mp(v, false, OFPMP_METER, xid++);
    m.u.multipart.u.meter_id = OFPM_ALL;
    ADD(m);
    m = mp(v, true, OFPMP_METER, xid++);
    m.u.multipart.list.meter = mstats;
    m.u.multipart.n = 1;
    ADD(m);
    m = mp(v, false, OFPMP_METER_CONFIG, xid++);
    m.u.multipart.u.meter_id = 1;
    ADD(m);
    m = mp(v, true, OFPMP_METER_CONFIG, xid++);
    m.u.multipart.list.meter_config = mconfig;
    m.u.multipart.n = 1;
    ADD(m);
    ADD(mp(v, false, OFPMP_METER_FEATURES, xid++));
    m = mp(v, true, OFPMP_METER_FEATURES, xid++);
    m.u.multipart.u.meter_features = (struct ofp_meter_features){1000, 6, 0xf, 2, 0};
    ADD(m);
    ADD(mp(v, false, OFPMP_TABLE_FEATURES, xid++));
    m = mp(v, true, OFPMP_TABLE_FEATURES, xid++);
    m.u.multipart.list.table_features = tfeat;
    m.u.multipart.n = 2;
    ADD(m);
    m = mp(v, false, OFPMP_TABLE_FEATURES, xid++);
    m.u.multipart.flags = OFPMPF_MORE;
    m.u.multipart.list.table_features = tfeat + 1;
    m.u.multipart.n = 1;
    ADD(m);
    ADD(mp(v, false, OFPMP_PORT_DESC, xid++));
    m = mp(v, true, OFPMP_PORT_DESC, xid++);
    m.u.multipart.list.port_desc = ports13;
    m.u.multipart.n = 2;
    ADD(m);
    return n;
}

const char *ofp_sample_name(const struct ofp_msg *m, char *buf, size_t size)
{
    const char *name = ofp_msg_type_name(m->type, m->version);
    name = name ? name + 5 : "unknown";  /* skip "OFPT_" */
    if (m->type == OFP_MSG_MULTIPART_REQUEST || m->type == OFP_MSG_MULTIPART_REPLY) {
        const char *mpn = ofp_mp_type_name(m->u.multipart.type, m->version);
        snprintf(buf, size, "%s_%s", name, mpn ? mpn + 6 : "unknown");
    } else {
        snprintf(buf, size, "%s", name);
    }
    for (char *p = buf; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return buf;
}
