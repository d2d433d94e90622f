/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ovs-ofctl text -> codec structs (ofp_parse.c): refusals first, each
 * naming the field or action at fault; then every field and action in
 * both versions, parsed, encoded, decoded and printed back
 * (ofp_format_flow_mod()), and groups, meters, packet-outs and flow-stats
 * filters checked field by field after the same round trip.
 */
#include "kk_common.h"
#include "ofp_parse.h"
#include "ofp_print.h"
#include "ofp_test_util.h"

#define V10 OFP10_VERSION
#define V13 OFP13_VERSION

/* Port names for the tests: "p1" = 1, "uplink" = 7. */
static int lookup(void *aux, const char *name, uint32_t *port)
{
    (void)aux;
    if (strcmp(name, "p1") == 0) {
        *port = 1;
        return 0;
    }
    if (strcmp(name, "uplink") == 0) {
        *port = 7;
        return 0;
    }
    return -ENOENT;
}

static const struct ofp_port_names names = {lookup, NULL};

/* Encode @m, decode it back (checked equal for 1.3 and for packet/group/
 * meter messages) into @back. */
static void round_trip(const struct ofp_msg *m, struct ofp_msg *back)
{
    struct ofp_buf b;
    struct ofp_error e;
    ofp_buf_init(&b);
    int rc = ofp_encode(m, &b, &e);
    if (rc)
        fail_msg("encode failed: %s", ofp_err_name(e.err));
    assert_int_equal(decode_copy(b.data, b.len, back, &e), 0);
    ofp_buf_free(&b);
}

/* ---- refusals ---- */

static const struct bad_case {
    uint8_t version;
    int command;     /* flow-mod command, or -1 flow filter */
    const char *text;
    const char *error; /* start of the message */
} bad_flows[] = {
    {V13, OFPFC_ADD, "priority=1", "actions: missing"},
    {V13, OFPFC_ADD, "nosuch=1,actions=drop", "nosuch: unknown field"},
    {V13, OFPFC_ADD, "priority=70000,actions=drop", "priority: '70000' is not a number"},
    {V13, OFPFC_ADD, "priority=-1,actions=drop", "priority:"},
    {V13, OFPFC_ADD, "in_port=eth9,actions=drop", "in_port: 'eth9' is not a port"},
    {V13, OFPFC_ADD, "dl_src=00:11:22,actions=drop", "dl_src: '00:11:22' is not a MAC"},
    {V13, OFPFC_ADD, "ip,nw_src=10.0.0.300,actions=drop", "nw_src: '10.0.0.300' is not"},
    {V13, OFPFC_ADD, "ip,nw_src=10.0.0.0/33,actions=drop", "nw_src: '33' is neither"},
    {V13, OFPFC_ADD, "nw_src=10.0.0.1,actions=drop", "nw_src: needs ip or arp"},
    {V13, OFPFC_ADD, "ip,tp_dst=80,actions=drop", "tp_dst: needs tcp, udp or sctp"},
    {V13, OFPFC_ADD, "tcp,icmp_type=3,actions=drop", "icmp_type: needs icmp or icmp6"},
    {V13, OFPFC_ADD, "tcp_dst=80,actions=drop", "tcp_dst: its protocol is missing"},
    {V13, OFPFC_ADD, "ipv6_src=::1,actions=drop", "ipv6_src: its protocol is missing"},
    {V13, OFPFC_ADD, "icmp6,nd_target=::1,actions=drop", "nd_target: its protocol"},
    {V13, OFPFC_ADD, "ip,ip_dscp=64,actions=drop", "ip_dscp: value out of range"},
    {V13, OFPFC_ADD, "ip,nw_tos=5,actions=drop", "nw_tos: 5 has ECN bits"},
    {V13, OFPFC_ADD, "dl_vlan=5000,actions=drop", "dl_vlan: 5000 is not a VLAN id"},
    {V13, OFPFC_ADD, "vlan_tci=0x1000/0x0fff,actions=drop", "vlan_tci: the value has bits"},
    {V13, OFPFC_ADD, "vlan_tci=0x3005/0x3fff,actions=drop", "vlan_tci: the priority bits"},
    {V13, OFPFC_ADD, "dl_vlan_pcp=8,actions=drop", "dl_vlan_pcp: '8'"},
    {V13, OFPFC_ADD, "eth_type=0x800/0xff00,actions=drop", "eth_type:"},
    {V13, OFPFC_ADD, "in_port=1/1,actions=drop", "in_port: takes no mask"},
    {V13, OFPFC_ADD, "arp,arp_op=1/1,actions=drop", "arp_op: takes no mask"},
    {V13, OFPFC_ADD, "vlan_pcp=1/1,actions=drop", "vlan_pcp: '1/1'"},
    {V13, OFPFC_ADD, "cookie=1/1,actions=drop", "cookie: add-flow takes no cookie mask"},
    {V13, OFPFC_ADD, "table=all,actions=drop", "table: a flow is added in one table"},
    {V13, OFPFC_MODIFY, "table=255,actions=drop", "table: a flow is modified in one table"},
    {V13, OFPFC_ADD, "idle_timeout=x,actions=drop", "idle_timeout:"},
    {V13, OFPFC_ADD, "actions=output:eth9", "output: 'eth9' is not a port"},
    {V13, OFPFC_ADD, "actions=output:0", "output: OFPBAC_BAD_OUT_PORT"},
    {V13, OFPFC_ADD, "actions=frobnicate", "frobnicate: unknown action"},
    {V13, OFPFC_ADD, "actions=mod_vlan_vid:4096", "mod_vlan_vid: '4096'"},
    {V13, OFPFC_ADD, "actions=mod_vlan_pcp:8", "mod_vlan_pcp: '8'"},
    {V13, OFPFC_ADD, "actions=mod_dl_src:zz", "mod_dl_src: 'zz' is not a MAC"},
    {V13, OFPFC_ADD, "actions=mod_nw_dst:1.2.3", "mod_nw_dst: '1.2.3' is not"},
    {V13, OFPFC_ADD, "ip,actions=mod_tp_src:80", "mod_tp_src: in OpenFlow 1.3 the match"},
    {V13, OFPFC_ADD, "ip,actions=mod_nw_tos:3", "mod_nw_tos: 3 has ECN bits"},
    {V13, OFPFC_ADD, "actions=set_field:1", "set_field: expected VALUE->FIELD"},
    {V13, OFPFC_ADD, "actions=set_field:1->nosuch", "set_field: unknown field 'nosuch'"},
    {V13, OFPFC_ADD, "actions=set_field:9000->vlan_vid", "set_field vlan_vid:"},
    {V13, OFPFC_ADD, "actions=set_field:64->ip_dscp", "set_field ip_dscp: value out of"},
    {V13, OFPFC_ADD, "actions=enqueue:1", "enqueue: expected PORT:QUEUE"},
    {V13, OFPFC_ADD, "actions=controller(foo=1)", "controller: 'foo' is not supported"},
    {V13, OFPFC_ADD, "actions=goto_table:1,goto_table:2", "goto_table: given twice"},
    {V13, OFPFC_ADD, "table=3,actions=goto_table:2", "goto_table: 2 does not come after"},
    {V13, OFPFC_ADD, "actions=write_actions(goto_table:1)", "goto_table: an instruction"},
    {V13, OFPFC_ADD, "actions=write_metadata:x", "write_metadata:"},
    {V13, OFPFC_ADD, "actions=meter:1,meter:2", "meter: given twice"},
    {V13, OFPFC_DELETE, "ip,actions=drop", "actions: not allowed when deleting"},
    {V13, -1, "ip,actions=drop", "actions: not allowed in a flow filter"},
    {V13, -1, "idle_timeout=5", "idle_timeout: only for flow-mods"},
    {V13, -1, "send_flow_rem", "send_flow_rem: only for flow-mods"},
    /* what OpenFlow 1.0 cannot say */
    {V10, OFPFC_ADD, "table=1,actions=drop", "table: OpenFlow 1.0 flow-mods have no table"},
    {V10, OFPFC_ADD, "reset_counts,actions=drop", "reset_counts: needs OpenFlow 1.3"},
    {V10, OFPFC_ADD, "ipv6,ipv6_src=::1,actions=drop", "ipv6"},
    {V10, OFPFC_ADD, "metadata=1,actions=drop", "metadata: not in OpenFlow 1.0"},
    {V10, OFPFC_ADD, "ip,nw_ecn=1,actions=drop", "nw_ecn: not in OpenFlow 1.0"},
    {V10, OFPFC_ADD, "dl_src=00:00:00:00:00:01/ff:ff:ff:00:00:00,actions=drop",
     "dl_src: OpenFlow 1.0 cannot express"},
    {V10, OFPFC_ADD, "out_group=1,actions=drop", "out_group: needs OpenFlow 1.3"},
    {V10, OFPFC_ADD, "actions=dec_ttl", "dec_ttl: needs OpenFlow 1.3"},
    {V10, OFPFC_ADD, "actions=group:1", "group: needs OpenFlow 1.3"},
    {V10, OFPFC_ADD, "actions=set_queue:1", "set_queue: needs OpenFlow 1.3"},
    {V10, OFPFC_ADD, "actions=push_vlan:0x8100", "push_vlan: needs OpenFlow 1.3"},
    {V10, OFPFC_ADD, "actions=mod_nw_ecn:1", "mod_nw_ecn: needs OpenFlow 1.3"},
    {V10, OFPFC_ADD, "actions=goto_table:1", "goto_table: needs OpenFlow 1.3"},
    {V10, OFPFC_ADD, "actions=write_actions(output:1)", "write_actions: needs OpenFlow 1.3"},
    {V10, OFPFC_ADD, "actions=meter:1", "meter: needs OpenFlow 1.3"},
    {V10, OFPFC_ADD, "ipv6,actions=set_field:::1->ipv6_src", "set_field ipv6_src: OpenFlow 1.0 cannot"},
    {V10, OFPFC_ADD, "actions=set_field:1->mpls_label", "set_field mpls_label: OpenFlow 1.0"},
    {V10, OFPFC_ADD, "in_port=70000,actions=drop", "in_port: port 70000 does not fit"},
    {V10, OFPFC_DELETE, "cookie=1/1", "cookie: masks need OpenFlow 1.3"},
    {V10, -1, "cookie=1", "cookie: OpenFlow 1.0 cannot filter on cookies"},
};

static void test_bad_flows(void **state)
{
    (void)state;
    for (size_t i = 0; i < KK_ARRAY_SIZE(bad_flows); i++) {
        const struct bad_case *t = &bad_flows[i];
        struct ofp_msg m;
        char err[256] = "";
        int rc = t->command < 0
                     ? ofp_parse_flow_stats_request(t->text, t->version, OFPMP_FLOW, &names,
                                                    &m, err, sizeof(err))
                     : ofp_parse_flow_mod(t->text, t->version, t->command, &names, &m, err,
                                          sizeof(err));
        if (rc != -EINVAL || strncmp(err, t->error, strlen(t->error)) != 0)
            fail_msg("'%s' (v%u): rc %d, error '%s', expected '%s'", t->text, t->version, rc,
                     err, t->error);
        assert_null(m.arena);
    }
    /* bad arguments */
    struct ofp_msg m;
    char err[64];
    assert_int_equal(ofp_parse_flow_mod(NULL, V13, OFPFC_ADD, NULL, &m, err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(ofp_parse_flow_mod("actions=drop", V13, OFPFC_ADD, NULL, NULL, err,
                                        sizeof(err)), -EINVAL);
    assert_int_equal(ofp_parse_flow_mod("actions=drop", 0x02, OFPFC_ADD, NULL, &m, err,
                                        sizeof(err)), -EINVAL);
    assert_string_equal(err, "OpenFlow version 0x02 is not supported (1.0 and 1.3 are)");
    /* no error buffer is fine; a short one is truncated */
    assert_int_equal(ofp_parse_flow_mod("x=1", V13, OFPFC_ADD, NULL, &m, NULL, 0), -EINVAL);
    assert_int_equal(ofp_parse_flow_mod("actions=p1", V13, OFPFC_ADD, NULL, &m, err, 6),
                     -EINVAL);
    assert_string_equal(err, "p1: u");
}

static const struct bad_other {
    char kind;       /* g group, m meter, p packet-out */
    uint8_t version;
    int command;
    const char *text;
    const char *error;
} bad_others[] = {
    {'g', V10, OFPGC_ADD, "group_id=1,bucket=output:1", "groups: need OpenFlow 1.3"},
    {'g', V13, OFPGC_ADD, "type=all,bucket=output:1", "group_id: missing"},
    {'g', V13, OFPGC_ADD, "group_id=1,type=fancy", "type: 'fancy' is not"},
    {'g', V13, OFPGC_ADD, "group_id=all,type=all", "group_id: 4294967292 is reserved"},
    {'g', V13, OFPGC_ADD, "group_id=1,color=red", "color: unknown group setting"},
    {'g', V13, OFPGC_ADD, "group_id=1,bucket=weight:x,actions=output:1", "bucket weight:"},
    {'g', V13, OFPGC_ADD, "group_id=1,bucket=watch_port:eth9,actions=output:1",
     "bucket watch_port: 'eth9'"},
    {'g', V13, OFPGC_ADD, "group_id=1,bucket=output:eth9", "output: 'eth9'"},
    {'g', V13, OFPGC_ADD, "group_id=1,bucket=frob:1,actions=output:1",
     "bucket: unknown setting 'frob'"},
    {'g', V13, OFPGC_ADD, "group_id=1,bucket=goto_table:1", "goto_table: an instruction"},
    {'g', V13, OFPGC_DELETE, "group_id=1,bucket=output:1", "bucket: not allowed when"},
    {'g', V13, OFPGC_ADD, "group_id=1,type=all,bucket=weight:5,output:1", "bucket weight: only"},
    {'m', V10, OFPMC_ADD, "meter=1,band=type=drop,rate=1", "meters: need OpenFlow 1.3"},
    {'m', V13, OFPMC_ADD, "kbps,band=type=drop,rate=1", "meter: missing"},
    {'m', V13, OFPMC_ADD, "meter=0,band=type=drop,rate=1", "meter: 0 is not a meter id"},
    {'m', V13, OFPMC_ADD, "meter=1,kbps,pktps,band=type=drop,rate=1", "kbps/pktps: choose"},
    {'m', V13, OFPMC_ADD, "meter=1,fast,band=type=drop,rate=1", "fast: unknown meter"},
    {'m', V13, OFPMC_ADD, "meter=1,band=type=boom,rate=1", "band type: 'boom'"},
    {'m', V13, OFPMC_ADD, "meter=1,band=rate=1", "band: type= missing"},
    {'m', V13, OFPMC_ADD, "meter=1,band=type=drop", "band: rate= missing"},
    {'m', V13, OFPMC_ADD, "meter=1,band=type=drop,rate=1,prec_level=1", "band: prec_level"},
    {'m', V13, OFPMC_ADD, "meter=1,band=type=drop,rate=x", "band rate:"},
    {'m', V13, OFPMC_DELETE, "meter=1,band=type=drop,rate=1", "band: not allowed when"},
    {'p', V13, 0, "packet=00", "in_port: missing"},
    {'p', V13, 0, "in_port=1", "packet: missing"},
    {'p', V13, 0, "in_port=1,packet=0", "packet: needs an even"},
    {'p', V13, 0, "in_port=1,packet=zz", "packet: 'z' is not a hex digit"},
    {'p', V13, 0, "in_port=1,packet=00,actions=goto_table:1", "goto_table: an instruction"},
    {'p', V10, 0, "in_port=1,packet=00,actions=group:1", "group: needs OpenFlow 1.3"},
    {'p', V13, 0, "in_port=1,packet=00,color=red", "color: unknown packet-out"},
};

static void test_bad_others(void **state)
{
    (void)state;
    for (size_t i = 0; i < KK_ARRAY_SIZE(bad_others); i++) {
        const struct bad_other *t = &bad_others[i];
        struct ofp_msg m;
        char err[256] = "";
        int rc = t->kind == 'g' ? ofp_parse_group_mod(t->text, t->version, t->command, &names,
                                                      &m, err, sizeof(err))
                 : t->kind == 'm'
                     ? ofp_parse_meter_mod(t->text, t->version, t->command, &m, err, sizeof(err))
                     : ofp_parse_packet_out(t->text, t->version, &names, &m, err, sizeof(err));
        if (rc != -EINVAL || strncmp(err, t->error, strlen(t->error)) != 0)
            fail_msg("%c '%s' (v%u): rc %d, error '%s', expected '%s'", t->kind, t->text,
                     t->version, rc, err, t->error);
        assert_null(m.arena);
    }
    uint32_t port;
    char err[128];
    assert_int_equal(ofp_parse_port("LOCAL", V13, NULL, &port, err, sizeof(err)), 0);
    assert_int_equal(port, OFPP_LOCAL);
    assert_int_equal(ofp_parse_port("65534", V10, NULL, &port, err, sizeof(err)), 0);
    assert_int_equal(port, OFPP_LOCAL);
    assert_int_equal(ofp_parse_port("65534", V13, NULL, &port, err, sizeof(err)), 0);
    assert_int_equal(port, 65534);
    assert_int_equal(ofp_parse_port("uplink", V13, &names, &port, err, sizeof(err)), 0);
    assert_int_equal(port, 7);
    assert_int_equal(ofp_parse_port("uplink", V13, NULL, &port, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "port: 'uplink' is not a port number, a reserved port or a port "
                             "name");
}

/* ---- flows: parse -> encode -> decode -> print ---- */

static const struct flow_case {
    uint8_t version;
    const char *text;
    const char *printed; /* ofp_format_flow_mod() of the decoded message */
} flows[] = {
    /* settings */
    {V13, "actions=drop", "priority=32768 actions=drop"},
    {V13, "", NULL},  /* placeholder: no actions= is an error (see bad cases) */
    {V13, "table=2 priority=7 cookie=0x1f idle_timeout=10 hard_timeout=20 actions=drop",
     "cookie=0x1f,table=2,idle_timeout=10,hard_timeout=20,priority=7 actions=drop"},
    {V10, "cookie=0x1f,idle_timeout=10,hard_timeout=20,priority=7,actions=drop",
     "cookie=0x1f,idle_timeout=10,hard_timeout=20,priority=7 actions=drop"},
    /* match fields, ovs-ofctl and OXM names, both versions where 1.0 has them */
    {V13, "in_port=3,actions=drop", "priority=32768,in_port=3 actions=drop"},
    {V10, "in_port=LOCAL,actions=drop", "priority=32768,in_port=LOCAL actions=drop"},
    {V13, "in_port=local,actions=drop", "priority=32768,in_port=LOCAL actions=drop"},
    {V13, "in_port=CONTROLLER,actions=drop", "priority=32768,in_port=CONTROLLER actions=drop"},
    {V10, "in_port=p1,actions=drop", "priority=32768,in_port=1 actions=drop"},
    {V10, "dl_src=00:11:22:33:44:55,dl_dst=66:77:88:99:aa:bb,actions=drop",
     "priority=32768,dl_dst=66:77:88:99:aa:bb,dl_src=00:11:22:33:44:55 actions=drop"},
    {V13, "eth_src=00:11:22:33:44:55/ff:ff:ff:00:00:00,eth_dst=01:00:00:00:00:00/01:00:00:00:00:00,"
          "actions=drop",
     "priority=32768,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,"
     "dl_src=00:11:22:00:00:00/ff:ff:ff:00:00:00 actions=drop"},
    {V10, "dl_type=0x88cc,actions=drop", "priority=32768,dl_type=0x88cc actions=drop"},
    {V13, "eth_type=0x0800,actions=drop", "priority=32768,ip actions=drop"},
    {V10, "dl_vlan=10,dl_vlan_pcp=3,actions=drop",
     "priority=32768,dl_vlan=10,dl_vlan_pcp=3 actions=drop"},
    {V13, "vlan_vid=10,vlan_pcp=3,actions=drop",
     "priority=32768,dl_vlan=10,dl_vlan_pcp=3 actions=drop"},
    {V10, "dl_vlan=0xffff,actions=drop", "priority=32768,vlan_tci=0x0000 actions=drop"},
    {V13, "vlan_tci=0x0000,actions=drop", "priority=32768,vlan_tci=0x0000 actions=drop"},
    {V13, "vlan_tci=0x1000/0x1000,actions=drop",
     "priority=32768,vlan_vid=0x1000/0x1000 actions=drop"},
    {V13, "vlan_tci=0x7005,actions=drop", "priority=32768,dl_vlan=5,dl_vlan_pcp=3 actions=drop"},
    {V13, "vlan_tci=0x1005/0x1fff,actions=drop", "priority=32768,dl_vlan=5 actions=drop"},
    {V13, "vlan_vid=0x1000/0x1000,actions=drop",
     "priority=32768,vlan_vid=0x1000/0x1000 actions=drop"},
    {V13, "vlan_vid=0x10/0xff0,actions=drop",
     "priority=32768,vlan_vid=0x1010/0x1ff0 actions=drop"},
    {V10, "dl_vlan_pcp=5,actions=drop",
     "priority=32768,vlan_vid=0x1000/0x1000,dl_vlan_pcp=5 actions=drop"},
    {V10, "ip,nw_src=10.0.0.0/8,nw_dst=192.168.1.1,actions=drop",
     "priority=32768,ip,nw_src=10.0.0.0/8,nw_dst=192.168.1.1 actions=drop"},
    {V13, "ip,nw_src=10.0.0.0/255.255.0.0,actions=drop",
     "priority=32768,ip,nw_src=10.0.0.0/16 actions=drop"},
    {V13, "ip,nw_dst=10.0.0.1/255.0.0.255,actions=drop",
     "priority=32768,ip,nw_dst=10.0.0.1/255.0.0.255 actions=drop"},
    {V13, "ip,ip_src=1.1.1.1,ip_dst=2.2.2.2,actions=drop",
     "priority=32768,ip,nw_src=1.1.1.1,nw_dst=2.2.2.2 actions=drop"},
    {V13, "ip,ipv4_src=1.1.1.0/24,ipv4_dst=2.2.2.2/32,actions=drop",
     "priority=32768,ip,nw_src=1.1.1.0/24,nw_dst=2.2.2.2 actions=drop"},
    {V13, "ip,nw_src=0.0.0.0/0,actions=drop", "priority=32768,ip actions=drop"},
    /* as ovs-ofctl: value bits outside the mask are dropped */
    {V13, "ip,nw_src=10.1.2.3/8,actions=drop", "priority=32768,ip,nw_src=10.0.0.0/8 actions=drop"},
    {V10, "ip,nw_proto=47,actions=drop", "priority=32768,ip,nw_proto=47 actions=drop"},
    {V13, "ipv6,ip_proto=47,actions=drop", "priority=32768,ipv6,nw_proto=47 actions=drop"},
    {V10, "ip,nw_tos=184,actions=drop", "priority=32768,ip,nw_tos=184 actions=drop"},
    {V13, "ip,ip_dscp=46,actions=drop", "priority=32768,ip,nw_tos=184 actions=drop"},
    {V13, "ip,nw_ecn=3,actions=drop", "priority=32768,ip,nw_ecn=3 actions=drop"},
    {V13, "ipv6,ip_ecn=1,actions=drop", "priority=32768,ipv6,nw_ecn=1 actions=drop"},
    {V10, "tcp,tp_src=1024,tp_dst=80,actions=drop",
     "priority=32768,tcp,tp_src=1024,tp_dst=80 actions=drop"},
    {V10, "tp_dst=53,udp,actions=drop", "priority=32768,udp,tp_dst=53 actions=drop"},
    {V13, "tcp,tcp_src=1,tcp_dst=2,actions=drop", "priority=32768,tcp,tp_src=1,tp_dst=2 actions=drop"},
    {V13, "udp,udp_src=1,udp_dst=2,actions=drop", "priority=32768,udp,tp_src=1,tp_dst=2 actions=drop"},
    {V13, "sctp,sctp_src=1,sctp_dst=2,actions=drop",
     "priority=32768,sctp,tp_src=1,tp_dst=2 actions=drop"},
    {V13, "sctp,tp_src=1,actions=drop", "priority=32768,sctp,tp_src=1 actions=drop"},
    {V13, "tcp6,tp_dst=22,actions=drop", "priority=32768,tcp6,tp_dst=22 actions=drop"},
    {V13, "udp6,tp_dst=53,actions=drop", "priority=32768,udp6,tp_dst=53 actions=drop"},
    {V13, "sctp6,tp_dst=9,actions=drop", "priority=32768,sctp6,tp_dst=9 actions=drop"},
    {V10, "icmp,icmp_type=8,icmp_code=0,actions=drop",
     "priority=32768,icmp,icmp_type=8,icmp_code=0 actions=drop"},
    {V13, "icmp6,icmp_type=128,icmp_code=0,actions=drop",
     "priority=32768,icmp6,icmp_type=128,icmp_code=0 actions=drop"},
    {V13, "icmp6,icmpv6_type=135,nd_target=fe80::1,nd_sll=00:00:00:00:00:01,actions=drop",
     "priority=32768,icmp6,icmp_type=135,nd_target=fe80::1,nd_sll=00:00:00:00:00:01 "
     "actions=drop"},
    {V13, "icmp6,icmpv6_type=136,icmpv6_code=0,nd_tll=00:00:00:00:00:02,actions=drop",
     "priority=32768,icmp6,icmp_type=136,icmp_code=0,nd_tll=00:00:00:00:00:02 actions=drop"},
    {V10, "arp,arp_op=2,arp_spa=10.0.0.1,arp_tpa=10.0.0.0/24,actions=drop",
     "priority=32768,arp,arp_op=2,arp_spa=10.0.0.1,arp_tpa=10.0.0.0/24 actions=drop"},
    {V10, "arp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_proto=1,actions=drop",
     "priority=32768,arp,arp_op=1,arp_spa=10.0.0.1,arp_tpa=10.0.0.2 actions=drop"},
    {V13, "arp,arp_sha=00:00:00:00:00:01,arp_tha=00:00:00:00:00:20/ff:ff:ff:ff:ff:f0,"
          "actions=drop",
     "priority=32768,arp,arp_sha=00:00:00:00:00:01,arp_tha=00:00:00:00:00:20/"
     "ff:ff:ff:ff:ff:f0 actions=drop"},
    {V13, "ipv6,ipv6_src=2001:db8::/32,ipv6_dst=::1,ipv6_label=0x12345,actions=drop",
     "priority=32768,ipv6,ipv6_src=2001:db8::/32,ipv6_dst=::1,ipv6_label=0x12345 "
     "actions=drop"},
    {V13, "ipv6,ipv6_src=2001:db8::/ffff:ffff::,actions=drop",
     "priority=32768,ipv6,ipv6_src=2001:db8::/32 actions=drop"},
    {V13, "metadata=0x10/0xf0,actions=drop", "priority=32768,metadata=0x10/0xf0 actions=drop"},
    {V13, "metadata=5,actions=drop", "priority=32768,metadata=0x5 actions=drop"},
    {V13, "mpls,mpls_label=100,mpls_tc=3,mpls_bos=1,actions=drop",
     "priority=32768,dl_type=0x8847,mpls_label=100,mpls_tc=3,mpls_bos=1 actions=drop"},
    {V13, "tun_id=0x55,actions=drop", "priority=32768,tun_id=0x55 actions=drop"},
    {V13, "rarp,actions=drop", "priority=32768,dl_type=0x8035 actions=drop"},
    /* 1.0 actions */
    {V10, "actions=output:1,2,in_port,normal,flood,all,local,controller,controller:100",
     "priority=32768 actions=output:1,output:2,IN_PORT,NORMAL,FLOOD,ALL,LOCAL,"
     "CONTROLLER:65535,CONTROLLER:100"},
    {V10, "actions=output:p1,uplink,CONTROLLER:64,output(port=3),controller(max_len=10)",
     "priority=32768 actions=output:1,output:7,CONTROLLER:64,output:3,CONTROLLER:10"},
    {V10, "actions=mod_vlan_vid:10,mod_vlan_pcp:3,strip_vlan",
     "priority=32768 actions=mod_vlan_vid:10,mod_vlan_pcp:3,strip_vlan"},
    {V10, "actions=mod_dl_src:00:00:00:00:00:01,mod_dl_dst:00:00:00:00:00:02",
     "priority=32768 actions=mod_dl_src:00:00:00:00:00:01,mod_dl_dst:00:00:00:00:00:02"},
    {V10, "ip,actions=mod_nw_src:1.2.3.4,mod_nw_dst:5.6.7.8,mod_nw_tos:184",
     "priority=32768,ip actions=mod_nw_src:1.2.3.4,mod_nw_dst:5.6.7.8,mod_nw_tos:184"},
    {V10, "tcp,actions=mod_tp_src:1,mod_tp_dst:2",
     "priority=32768,tcp actions=mod_tp_src:1,mod_tp_dst:2"},
    {V10, "actions=enqueue:1:2,enqueue(p1,3)",
     "priority=32768 actions=enqueue:1:2,enqueue:1:3"},
    {V10, "actions=pop_vlan", "priority=32768 actions=strip_vlan"},
    /* set_field in 1.0 becomes the 1.0 action */
    {V10, "ip,actions=set_field:1.2.3.4->ip_src,set_field:00:00:00:00:00:09->eth_dst,"
          "set_field:46->ip_dscp,set_field:10->vlan_vid,set_field:2->vlan_pcp",
     "priority=32768,ip actions=mod_nw_src:1.2.3.4,mod_dl_dst:00:00:00:00:00:09,"
     "mod_nw_tos:184,mod_vlan_vid:10,mod_vlan_pcp:2"},
    {V10, "tcp,actions=set_field:80->tcp_dst,set_field:81->tp_src",
     "priority=32768,tcp actions=mod_tp_dst:80,mod_tp_src:81"},
    /* 1.3 actions: the ovs-ofctl -O OpenFlow13 translations */
    {V13, "actions=output:1,in_port,normal,flood,all,local,controller,controller:100",
     "priority=32768 actions=output:1,IN_PORT,NORMAL,FLOOD,ALL,LOCAL,CONTROLLER:65535,"
     "CONTROLLER:100"},
    {V13, "actions=mod_vlan_vid:10",
     "priority=32768 actions=push_vlan:0x8100,set_field:4106->vlan_vid"},
    {V13, "actions=mod_vlan_vid:10,mod_vlan_pcp:2",
     "priority=32768 actions=push_vlan:0x8100,set_field:4106->vlan_vid,set_field:2->vlan_pcp"},
    {V13, "dl_vlan=5,actions=mod_vlan_vid:10",
     "priority=32768,dl_vlan=5 actions=set_field:4106->vlan_vid"},
    {V13, "vlan_tci=0x1000/0x1000,actions=mod_vlan_pcp:2",
     "priority=32768,vlan_vid=0x1000/0x1000 actions=set_field:2->vlan_pcp"},
    {V13, "dl_vlan=5,actions=strip_vlan,mod_vlan_vid:7",
     "priority=32768,dl_vlan=5 actions=strip_vlan,push_vlan:0x8100,set_field:4103->vlan_vid"},
    {V13, "actions=push_vlan:0x88a8,pop_vlan",
     "priority=32768 actions=push_vlan:0x88a8,strip_vlan"},
    {V13, "actions=mod_dl_src:00:00:00:00:00:01,mod_dl_dst:00:00:00:00:00:02",
     "priority=32768 actions=set_field:00:00:00:00:00:01->eth_src,"
     "set_field:00:00:00:00:00:02->eth_dst"},
    {V13, "ip,actions=mod_nw_src:1.2.3.4,mod_nw_dst:5.6.7.8,mod_nw_tos:184,mod_nw_ecn:2",
     "priority=32768,ip actions=set_field:1.2.3.4->ipv4_src,set_field:5.6.7.8->ipv4_dst,"
     "set_field:46->ip_dscp,set_field:2->ip_ecn"},
    {V13, "tcp,actions=mod_tp_src:1,mod_tp_dst:2",
     "priority=32768,tcp actions=set_field:1->tcp_src,set_field:2->tcp_dst"},
    {V13, "udp,actions=mod_tp_src:1", "priority=32768,udp actions=set_field:1->udp_src"},
    {V13, "sctp,actions=mod_tp_dst:1", "priority=32768,sctp actions=set_field:1->sctp_dst"},
    {V13, "ip,actions=dec_ttl,mod_nw_ttl:9", "priority=32768,ip actions=dec_ttl,mod_nw_ttl:9"},
    {V13, "actions=group:4,set_queue:3", "priority=32768 actions=group:4,set_queue:3"},
    {V13, "actions=enqueue:1:2", "priority=32768 actions=set_queue:2,output:1"},
    {V13, "actions=set_field:10->vlan_vid", "priority=32768 actions=set_field:4106->vlan_vid"},
    {V13, "ipv6,actions=set_field:2001:db8::1->ipv6_dst",
     "priority=32768,ipv6 actions=set_field:2001:db8::1->ipv6_dst"},
    {V13, "actions=set_field:0x5->metadata", "priority=32768 actions=set_field:0x5->metadata"},
    {V13, "actions=set_field:1->in_phy_port", NULL},  /* read-only: refused */
    {V13, "mpls,actions=push_mpls:0x8847,set_mpls_ttl(5),dec_mpls_ttl,pop_mpls:0x0800",
     "priority=32768,dl_type=0x8847 actions=push_mpls:0x8847,set_mpls_ttl(5),dec_mpls_ttl,"
     "pop_mpls:0x0800"},
    {V13, "actions=copy_ttl_out,copy_ttl_in", "priority=32768 actions=copy_ttl_out,copy_ttl_in"},
    /* 1.3 instructions, put in execution order */
    {V13, "actions=goto_table:1,write_metadata:0x1/0xff,write_actions(output:2),clear_actions,"
          "output:3,meter:5",
     "priority=32768 actions=meter:5,output:3,clear_actions,write_actions(output:2),"
     "write_metadata:0x1/0xff,goto_table:1"},
    {V13, "actions=write_metadata:0x7", "priority=32768 actions=write_metadata:0x7"},
    {V13, "actions=apply_actions(output:1),write_actions(group:1)",
     "priority=32768 actions=output:1,write_actions(group:1)"},
    {V13, "actions=write_actions()", "priority=32768 actions=write_actions()"},
    {V13, "table=1,actions=drop,goto_table:2", "table=1,priority=32768 actions=goto_table:2"},
    /* flags */
    {V13, "send_flow_rem,check_overlap,reset_counts,no_packet_counts,no_byte_counts,"
          "actions=drop", "priority=32768 actions=drop"},
    /* white space separators, key:value */
    {V13, "  priority:9   ip  nw_src:1.2.3.4   actions=output:1 output:2",
     "priority=9,ip,nw_src=1.2.3.4 actions=output:1,output:2"},
};

static void test_flows(void **state)
{
    (void)state;
    for (size_t i = 0; i < KK_ARRAY_SIZE(flows); i++) {
        const struct flow_case *t = &flows[i];
        struct ofp_msg m, back;
        char err[256] = "", text[1024];
        int rc = ofp_parse_flow_mod(t->text, t->version, OFPFC_ADD, &names, &m, err,
                                    sizeof(err));
        if (!t->printed) {
            if (rc != -EINVAL)
                fail_msg("'%s' should be refused", t->text);
            continue;
        }
        if (rc)
            fail_msg("'%s' (v%u): %s", t->text, t->version, err);
        assert_int_equal(m.version, t->version);
        assert_int_equal(m.type, OFP_MSG_FLOW_MOD);
        assert_int_equal(m.u.flow_mod.buffer_id, OFP_NO_BUFFER);
        assert_int_equal(m.u.flow_mod.out_port, OFPP_ANY);
        round_trip(&m, &back);
        if (t->version == V13 && !ofp_msg_equal(&m, &back))
            fail_msg("'%s': decoded message differs", t->text);
        ofp_format_flow_mod(&back.u.flow_mod, back.version, text, sizeof(text));
        if (strcmp(text, t->printed) != 0)
            fail_msg("'%s' (v%u):\n got  '%s'\n want '%s'", t->text, t->version, text,
                     t->printed);
        /* what we print parses back to the same flow (the printed text uses
         * names the parser takes) */
        struct ofp_msg again;
        rc = ofp_parse_flow_mod(text, t->version, OFPFC_ADD, &names, &again, err, sizeof(err));
        if (rc)
            fail_msg("reparse of '%s': %s", text, err);
        if (!ofp_match_equal(&again.u.flow_mod.match, &back.u.flow_mod.match))
            fail_msg("reparse of '%s': match differs", text);
        ofp_msg_free(&again);
        ofp_msg_free(&back);
        ofp_msg_free(&m);
    }
}

static void test_flow_settings(void **state)
{
    (void)state;
    struct ofp_msg m;
    char err[256];
    /* flags per version */
    assert_int_equal(ofp_parse_flow_mod("send_flow_rem,check_overlap,reset_counts,"
                                        "no_packet_counts,no_byte_counts,actions=drop",
                                        V13, OFPFC_ADD, NULL, &m, err, sizeof(err)), 0);
    assert_int_equal(m.u.flow_mod.flags, OFPFF_SEND_FLOW_REM | OFPFF_CHECK_OVERLAP |
                                             OFPFF13_RESET_COUNTS | OFPFF13_NO_PKT_COUNTS |
                                             OFPFF13_NO_BYT_COUNTS);
    assert_int_equal(m.u.flow_mod.table_id, 0);
    assert_int_equal(m.u.flow_mod.out_group, OFPG_ANY);
    ofp_msg_free(&m);
    assert_int_equal(ofp_parse_flow_mod("send_flow_rem,check_overlap,actions=drop", V10,
                                        OFPFC_ADD, NULL, &m, err, sizeof(err)), 0);
    assert_int_equal(m.u.flow_mod.flags, OFPFF_SEND_FLOW_REM | OFPFF_CHECK_OVERLAP);
    ofp_msg_free(&m);
    /* delete: all tables by default, cookie masks, out_port/out_group */
    assert_int_equal(ofp_parse_flow_mod("cookie=0x10/0xf0,out_port=2,out_group=3,tcp", V13,
                                        OFPFC_DELETE, NULL, &m, err, sizeof(err)), 0);
    struct ofp_msg back;
    round_trip(&m, &back);
    assert_true(ofp_msg_equal(&m, &back));
    assert_int_equal(back.u.flow_mod.command, OFPFC_DELETE);
    assert_int_equal(back.u.flow_mod.table_id, OFPTT_ALL);
    assert_int_equal(back.u.flow_mod.cookie, 0x10);
    assert_int_equal(back.u.flow_mod.cookie_mask, 0xf0);
    assert_int_equal(back.u.flow_mod.out_port, 2);
    assert_int_equal(back.u.flow_mod.out_group, 3);
    assert_int_equal(back.u.flow_mod.instructions.n, 0);
    ofp_msg_free(&back);
    ofp_msg_free(&m);
    /* strict delete keeps the priority; "" deletes everything */
    assert_int_equal(ofp_parse_flow_mod("priority=5,table=3,ip", V13, OFPFC_DELETE_STRICT, NULL,
                                        &m, err, sizeof(err)), 0);
    assert_int_equal(m.u.flow_mod.priority, 5);
    assert_int_equal(m.u.flow_mod.table_id, 3);
    ofp_msg_free(&m);
    assert_int_equal(ofp_parse_flow_mod("", V10, OFPFC_DELETE, NULL, &m, err, sizeof(err)), 0);
    assert_int_equal(m.u.flow_mod.match.present, 0);
    round_trip(&m, &back);
    assert_int_equal(back.u.flow_mod.command, OFPFC_DELETE);
    ofp_msg_free(&back);
    ofp_msg_free(&m);
    /* modify: table 0 unless table= (1.3 has no "all tables" for modify);
     * the actions are the new ones */
    assert_int_equal(ofp_parse_flow_mod("ip,actions=output:2", V13, OFPFC_MODIFY, NULL, &m, err,
                                        sizeof(err)), 0);
    assert_int_equal(m.u.flow_mod.table_id, 0);
    assert_int_equal(m.u.flow_mod.instructions.n, 1);
    round_trip(&m, &back);
    assert_true(ofp_msg_equal(&m, &back));
    ofp_msg_free(&back);
    ofp_msg_free(&m);
    assert_int_equal(ofp_parse_flow_mod("ip,actions=output:2", V10, OFPFC_MODIFY_STRICT, NULL,
                                        &m, err, sizeof(err)), 0);
    assert_int_equal(m.u.flow_mod.actions.n, 1);
    ofp_msg_free(&m);
    /* 1.0 delete may say table=all (it has no table anyway) */
    assert_int_equal(ofp_parse_flow_mod("table=all", V10, OFPFC_DELETE, NULL, &m, err,
                                        sizeof(err)), 0);
    ofp_msg_free(&m);
}

static void test_flow_stats_request(void **state)
{
    (void)state;
    struct ofp_msg m, back;
    char err[256];
    assert_int_equal(ofp_parse_flow_stats_request("", V13, OFPMP_FLOW, NULL, &m, err,
                                                  sizeof(err)), 0);
    assert_int_equal(m.type, OFP_MSG_MULTIPART_REQUEST);
    assert_int_equal(m.u.multipart.type, OFPMP_FLOW);
    assert_int_equal(m.u.multipart.u.flow_req.table_id, OFPTT_ALL);
    assert_int_equal(m.u.multipart.u.flow_req.out_port, OFPP_ANY);
    assert_int_equal(m.u.multipart.u.flow_req.out_group, OFPG_ANY);
    assert_int_equal(m.u.multipart.u.flow_req.cookie_mask, 0);
    round_trip(&m, &back);
    assert_true(ofp_msg_equal(&m, &back));
    ofp_msg_free(&back);
    ofp_msg_free(&m);
    assert_int_equal(ofp_parse_flow_stats_request("table=2,tcp,tp_dst=80,cookie=0x5,out_port=p1",
                                                  V13, OFPMP_AGGREGATE, &names, &m, err,
                                                  sizeof(err)), 0);
    round_trip(&m, &back);
    assert_true(ofp_msg_equal(&m, &back));
    const struct ofp_flow_stats_request *r = &back.u.multipart.u.flow_req;
    assert_int_equal(back.u.multipart.type, OFPMP_AGGREGATE);
    assert_int_equal(r->table_id, 2);
    assert_int_equal(r->cookie, 5);
    assert_int_equal(r->cookie_mask, UINT64_MAX);
    assert_int_equal(r->out_port, 1);
    assert_int_equal(ofp_match_get_uint(&r->match, OFPXMT_TCP_DST), 80);
    ofp_msg_free(&back);
    ofp_msg_free(&m);
    assert_int_equal(ofp_parse_flow_stats_request("in_port=LOCAL,table=0", V10, OFPMP_FLOW,
                                                  NULL, &m, err, sizeof(err)), 0);
    round_trip(&m, &back);
    assert_int_equal(back.u.multipart.u.flow_req.table_id, 0);
    assert_int_equal(ofp_match_get_uint(&back.u.multipart.u.flow_req.match, OFPXMT_IN_PORT),
                     OFPP_LOCAL);
    ofp_msg_free(&back);
    ofp_msg_free(&m);
    assert_int_equal(ofp_parse_flow_stats_request("", V13, OFPMP_DESC, NULL, &m, err,
                                                  sizeof(err)), -EINVAL);
}

/* ---- groups ---- */

static void test_groups(void **state)
{
    (void)state;
    struct ofp_msg m, back;
    char err[256];
    int rc = ofp_parse_group_mod("group_id=1,type=select,bucket=weight:10,actions=output:1,"
                                 "bucket=output:2,bucket=weight:5,watch_port:p1,watch_group:3,"
                                 "bucket_id:9,actions=mod_vlan_vid:10,output:uplink",
                                 V13, OFPGC_ADD, &names, &m, err, sizeof(err));
    if (rc)
        fail_msg("%s", err);
    round_trip(&m, &back);
    assert_true(ofp_msg_equal(&m, &back));
    const struct ofp_group_mod *g = &back.u.group_mod;
    assert_int_equal(g->command, OFPGC_ADD);
    assert_int_equal(g->type, OFPGT_SELECT);
    assert_int_equal(g->group_id, 1);
    assert_int_equal(g->n_buckets, 3);
    assert_int_equal(g->buckets[0].weight, 10);
    assert_int_equal(g->buckets[0].watch_port, OFPP_ANY);
    assert_int_equal(g->buckets[0].watch_group, OFPG_ANY);
    assert_int_equal(g->buckets[0].actions.n, 1);
    assert_int_equal(g->buckets[0].actions.actions[0].port, 1);
    assert_int_equal(g->buckets[1].weight, 1);  /* select default */
    assert_int_equal(g->buckets[1].actions.actions[0].port, 2);
    assert_int_equal(g->buckets[2].weight, 5);
    assert_int_equal(g->buckets[2].watch_port, 1);
    assert_int_equal(g->buckets[2].watch_group, 3);
    char t[256];
    ofp_format_actions(&g->buckets[2].actions, t, sizeof(t));
    assert_string_equal(t, "push_vlan:0x8100,set_field:4106->vlan_vid,output:7");
    ofp_msg_free(&back);
    ofp_msg_free(&m);

    static const struct {
        const char *text;
        uint8_t type;
        size_t n_buckets;
        uint16_t weight0;
    } kinds[] = {
        {"group_id=2,type=all,bucket=output:1,bucket=output:2", OFPGT_ALL, 2, 0},
        {"group_id=3,type=indirect,bucket=actions=group:2", OFPGT_INDIRECT, 1, 0},
        {"group_id=4,type=ff,bucket=watch_port:1,actions=output:1,bucket=watch_port:2,"
         "actions=output:2", OFPGT_FF, 2, 0},
        {"group_id=5", OFPGT_ALL, 0, 0},
        {"group_id=6 type=select bucket=output:1", OFPGT_SELECT, 1, 1},
    };
    for (size_t i = 0; i < KK_ARRAY_SIZE(kinds); i++) {
        rc = ofp_parse_group_mod(kinds[i].text, V13, OFPGC_MODIFY, &names, &m, err,
                                 sizeof(err));
        if (rc)
            fail_msg("'%s': %s", kinds[i].text, err);
        round_trip(&m, &back);
        assert_true(ofp_msg_equal(&m, &back));
        assert_int_equal(back.u.group_mod.command, OFPGC_MODIFY);
        assert_int_equal(back.u.group_mod.type, kinds[i].type);
        assert_int_equal(back.u.group_mod.n_buckets, kinds[i].n_buckets);
        if (kinds[i].n_buckets)
            assert_int_equal(back.u.group_mod.buckets[0].weight, kinds[i].weight0);
        ofp_msg_free(&back);
        ofp_msg_free(&m);
    }
    /* delete: one, or all */
    const char *dels[] = {"group_id=7", "", "group_id=all"};
    const uint32_t ids[] = {7, OFPG_ALL, OFPG_ALL};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(ofp_parse_group_mod(dels[i], V13, OFPGC_DELETE, NULL, &m, err,
                                             sizeof(err)), 0);
        round_trip(&m, &back);
        assert_int_equal(back.u.group_mod.command, OFPGC_DELETE);
        assert_int_equal(back.u.group_mod.group_id, ids[i]);
        ofp_msg_free(&back);
        ofp_msg_free(&m);
    }
}

/* ---- meters ---- */

static void test_meters(void **state)
{
    (void)state;
    struct ofp_msg m, back;
    char err[256];
    int rc = ofp_parse_meter_mod("meter=1,kbps,burst,stats,band=type=drop,rate=1000,"
                                 "burst_size=100,band=type=dscp_remark,rate=2000,prec_level=1",
                                 V13, OFPMC_ADD, &m, err, sizeof(err));
    if (rc)
        fail_msg("%s", err);
    round_trip(&m, &back);
    assert_true(ofp_msg_equal(&m, &back));
    const struct ofp_meter_mod *mm = &back.u.meter_mod;
    assert_int_equal(mm->command, OFPMC_ADD);
    assert_int_equal(mm->meter_id, 1);
    assert_int_equal(mm->flags, OFPMF_KBPS | OFPMF_BURST | OFPMF_STATS);
    assert_int_equal(mm->n_bands, 2);
    assert_int_equal(mm->bands[0].type, OFPMBT_DROP);
    assert_int_equal(mm->bands[0].rate, 1000);
    assert_int_equal(mm->bands[0].burst_size, 100);
    assert_int_equal(mm->bands[1].type, OFPMBT_DSCP_REMARK);
    assert_int_equal(mm->bands[1].rate, 2000);
    assert_int_equal(mm->bands[1].prec_level, 1);
    ofp_msg_free(&back);
    ofp_msg_free(&m);
    /* pktps; kbps is the default unit */
    assert_int_equal(ofp_parse_meter_mod("meter=2 pktps band=type=drop,rate=10", V13,
                                         OFPMC_MODIFY, &m, err, sizeof(err)), 0);
    assert_int_equal(m.u.meter_mod.flags, OFPMF_PKTPS);
    assert_int_equal(m.u.meter_mod.command, OFPMC_MODIFY);
    ofp_msg_free(&m);
    assert_int_equal(ofp_parse_meter_mod("meter=3,band=type=drop,rate=10", V13, OFPMC_ADD, &m,
                                         err, sizeof(err)), 0);
    assert_int_equal(m.u.meter_mod.flags, OFPMF_KBPS);
    ofp_msg_free(&m);
    const char *dels[] = {"meter=4", "", "meter=all"};
    const uint32_t ids[] = {4, OFPM_ALL, OFPM_ALL};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(ofp_parse_meter_mod(dels[i], V13, OFPMC_DELETE, &m, err, sizeof(err)),
                         0);
        round_trip(&m, &back);
        assert_int_equal(back.u.meter_mod.command, OFPMC_DELETE);
        assert_int_equal(back.u.meter_mod.meter_id, ids[i]);
        assert_int_equal(back.u.meter_mod.n_bands, 0);
        ofp_msg_free(&back);
        ofp_msg_free(&m);
    }
}

/* ---- packet-out ---- */

static void test_packet_out(void **state)
{
    (void)state;
    static const struct {
        uint8_t version;
        const char *text;
        uint32_t in_port;
        size_t len;
        const char *actions;
    } cases[] = {
        {V13, "in_port=1 packet=ffffffffffff0000000000010806 actions=output:2", 1, 14,
         "output:2"},
        {V10, "in_port=LOCAL,packet=00:11:22:33,actions=mod_vlan_vid:5,output:p1", OFPP_LOCAL,
         4, "mod_vlan_vid:5,output:1"},
        {V13, "in_port=controller,packet=0011,actions=mod_vlan_vid:5,output:p1",
         OFPP_CONTROLLER, 2, "push_vlan:0x8100,set_field:4101->vlan_vid,output:1"},
        {V13, "packet=aabb,in_port=none", OFPP_ANY, 2, "drop"},
    };
    for (size_t i = 0; i < KK_ARRAY_SIZE(cases); i++) {
        struct ofp_msg m, back;
        char err[256], t[256];
        int rc = ofp_parse_packet_out(cases[i].text, cases[i].version, &names, &m, err,
                                      sizeof(err));
        if (rc)
            fail_msg("'%s': %s", cases[i].text, err);
        round_trip(&m, &back);
        assert_true(ofp_msg_equal(&m, &back));
        const struct ofp_packet_out *po = &back.u.packet_out;
        assert_int_equal(po->buffer_id, OFP_NO_BUFFER);
        assert_int_equal(po->in_port, cases[i].in_port);
        assert_int_equal(po->data.len, cases[i].len);
        ofp_format_actions(&po->actions, t, sizeof(t));
        assert_string_equal(t, cases[i].actions);
        ofp_msg_free(&back);
        ofp_msg_free(&m);
    }
    /* the bytes themselves */
    struct ofp_msg m;
    char err[64];
    assert_int_equal(ofp_parse_packet_out("in_port=1,packet=0a0B,actions=drop", V13, NULL, &m,
                                          err, sizeof(err)), 0);
    assert_int_equal(m.u.packet_out.data.data[0], 0x0a);
    assert_int_equal(m.u.packet_out.data.data[1], 0x0b);
    assert_int_equal(m.u.packet_out.actions.n, 0);
    ofp_msg_free(&m);
}

/* Every action and field kind through both versions is above; here the
 * version-independence of the match: the same text gives the same match in
 * 1.0 and 1.3 whenever 1.0 can carry it. */
static void test_same_match_both_versions(void **state)
{
    (void)state;
    static const char *texts[] = {
        "in_port=1,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02,dl_vlan=3,dl_vlan_pcp=1,"
        "tcp,nw_src=10.0.0.0/8,nw_dst=10.1.0.0/16,nw_tos=8,tp_src=1,tp_dst=2",
        "arp,nw_src=1.1.1.1,nw_dst=2.2.2.0/24,nw_proto=2",
        "icmp,icmp_type=3,icmp_code=1",
        "udp,tp_dst=53",
    };
    for (size_t i = 0; i < KK_ARRAY_SIZE(texts); i++) {
        struct ofp_msg a, b, a2, b2;
        char err[256];
        assert_int_equal(ofp_parse_flow_mod(texts[i], V10, OFPFC_DELETE, NULL, &a, err,
                                            sizeof(err)), 0);
        assert_int_equal(ofp_parse_flow_mod(texts[i], V13, OFPFC_DELETE, NULL, &b, err,
                                            sizeof(err)), 0);
        round_trip(&a, &a2);
        round_trip(&b, &b2);
        assert_true(ofp_match_equal(&a2.u.flow_mod.match, &b2.u.flow_mod.match));
        assert_true(ofp_match_equal(&a.u.flow_mod.match, &a2.u.flow_mod.match));
        ofp_msg_free(&a);
        ofp_msg_free(&b);
        ofp_msg_free(&a2);
        ofp_msg_free(&b2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_flows),
        cmocka_unit_test(test_bad_others),
        cmocka_unit_test(test_flows),
        cmocka_unit_test(test_flow_settings),
        cmocka_unit_test(test_flow_stats_request),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_meters),
        cmocka_unit_test(test_packet_out),
        cmocka_unit_test(test_same_match_both_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
