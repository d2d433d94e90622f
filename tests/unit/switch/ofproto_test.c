/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bridge's control side: refused port settings, flow text that must
 * be refused (each error names its field or action), action and flow
 * format/parse round trips, flow-mod semantics (add replaces, modify and
 * delete strict and non-strict, cookies, out_port), dumps, timeouts,
 * trace text, upcall results, and a bridge of 100,000 rules (identical
 * adds replace, strict deletes remove exactly one, lookups hit the rule).
 */
#include <errno.h>
#include <time.h>

#include "kk_rcu.h"
#include "kk_test.h"
#include "ofproto.h"

static uint64_t now_ms = 5000;

static uint64_t test_clock(void *arg)
{
    (void)arg;
    return now_ms;
}

static struct sw_ofproto *bridge(bool default_flow)
{
    struct sw_ofproto_settings s = {.name = "br0", .now_ms = test_clock,
                                    .no_default_flow = !default_flow};
    struct sw_ofproto *ofp;
    assert_int_equal(sw_ofproto_create(&s, &ofp), 0);
    for (unsigned n = 1; n <= 3; n++) {
        char name[8];
        snprintf(name, sizeof(name), "eth%u", n);
        struct sw_port_settings ps = {.name = name, .dp_port = 10 + n};
        uint32_t of;
        assert_int_equal(sw_ofproto_port_add(ofp, &ps, &of), 0);
        assert_int_equal(of, n);
    }
    return ofp;
}

static void test_refused_ports(void **state)
{
    (void)state;
    struct sw_ofproto *ofp;
    struct sw_ofproto_settings s = {.name = NULL};
    assert_int_equal(sw_ofproto_create(&s, &ofp), -EINVAL);
    ofp = bridge(true);
    struct sw_port_settings ps = {.name = "eth1", .dp_port = 50};
    assert_int_equal(sw_ofproto_port_add(ofp, &ps, NULL), -EEXIST);   /* name */
    ps.name = "x";
    ps.dp_port = 11;
    assert_int_equal(sw_ofproto_port_add(ofp, &ps, NULL), -EEXIST);   /* dp port */
    ps.dp_port = 50;
    ps.ofport = 2;
    assert_int_equal(sw_ofproto_port_add(ofp, &ps, NULL), -EEXIST);   /* ofport */
    ps.ofport = 0x10000;
    assert_int_equal(sw_ofproto_port_add(ofp, &ps, NULL), -EINVAL);
    ps.ofport = 0;
    ps.tag = 4096;
    assert_int_equal(sw_ofproto_port_add(ofp, &ps, NULL), -EINVAL);
    ps.tag = 0;
    struct sw_bond_settings bs = {.mode = SW_BOND_ACTIVE_BACKUP};
    ps.bond = &bs;
    assert_int_equal(sw_ofproto_port_add(ofp, &ps, NULL), -EINVAL);  /* no members */
    ps.bond = NULL;
    uint32_t of;
    assert_int_equal(sw_ofproto_port_add(ofp, &ps, &of), 0);
    assert_int_equal(of, 4);
    assert_int_equal(sw_ofproto_port_del(ofp, "eth2"), 0);
    assert_int_equal(sw_ofproto_port_del(ofp, "eth2"), -ENOENT);
    ps.name = "y";
    ps.dp_port = 51;
    assert_int_equal(sw_ofproto_port_add(ofp, &ps, &of), 0);
    assert_int_equal(of, 2); /* lowest free number */
    assert_int_equal(sw_ofproto_set_link(ofp, 99, true), -ENOENT);
    enum sw_vlan_mode m;
    assert_int_equal(sw_vlan_mode_from_string("native-untagged", &m), 0);
    assert_int_equal(m, SW_VLAN_MODE_NATIVE_UNTAGGED);
    assert_int_equal(sw_vlan_mode_from_string("bogus", &m), -EINVAL);
    sw_ofproto_destroy(ofp);
}

static void test_refused_flows(void **state)
{
    (void)state;
    struct sw_ofproto *ofp = bridge(false);
    static const struct {
        const char *text, *error;
    } cases[] = {
        {"priority=1", "actions: missing"},
        {"table=255,actions=drop", "table: bad value '255'"},
        {"priority=70000,actions=drop", "priority: bad value '70000'"},
        {"cookie=0x1/0xff,actions=drop", "cookie: no mask allowed"},
        {"idle_timeout=-1,actions=drop", "idle_timeout: bad value"},
        {"in_port=nosuch,actions=drop", "in_port: unknown port 'nosuch'"},
        {"in_port=0,actions=drop", "in_port: 0 out of range"},
        {"nw_src=1.2.3.4,actions=drop", "nw_src/nw_dst: prerequisite not met"},
        {"ipv6,nw_src=1.2.3.4,actions=drop", "nw_src/nw_dst: prerequisite not met"},
        {"ip,tp_dst=80,actions=drop", "tp_src/tp_dst: prerequisite not met"},
        {"udp,tcp_flags=+syn,actions=drop", "tcp_flags: prerequisite not met"},
        {"ipv6_src=::1,actions=drop", "ipv6_src/ipv6_dst/ipv6_label: prerequisite not met"},
        {"nw_ttl=3,actions=drop", "nw_tos/nw_ttl/ip_frag: prerequisite not met"},
        {"arp_sha=00:00:00:00:00:01,actions=drop", "arp_sha/arp_tha: prerequisite not met"},
        {"icmp6,nd_target=::1,actions=drop", "nd_target: prerequisite not met"},
        {"bogus=1,actions=drop", "bogus"},
        {"actions=frobnicate", "unknown action 'frobnicate'"},
        {"actions=output:0", "output: port 0 out of range"},
        {"actions=output:70000", "output: port 70000 out of range"},
        {"actions=output:nosuch", "output: unknown port 'nosuch'"},
        {"actions=output", "output: missing port"},
        {"actions=drop,output:1", "drop must be the only action"},
        {"actions=output:1,,output:2", "empty action"},
        {"actions=mod_vlan_vid:4096", "mod_vlan_vid: bad VLAN id '4096'"},
        {"actions=mod_vlan_pcp:8", "mod_vlan_pcp: bad priority '8'"},
        {"actions=push_vlan:0x800", "push_vlan: bad ethertype"},
        {"actions=mod_dl_src:zz", "mod_dl_src: bad value 'zz'"},
        {"actions=mod_nw_tos:3", "mod_nw_tos: 3 is not a multiple of 4"},
        {"actions=mod_nw_src", "mod_nw_src: missing value"},
        {"actions=mod_nw_dst:1.2.3.4/8", "mod_nw_dst: no mask allowed"},
        {"actions=set_field:1.2.3.4->nw_src", "set_field ip_src: prerequisite not met"},
        {"udp,actions=set_field:1->tcp_flags", "set_field: field 'tcp_flags' unknown"},
        {"ip,actions=set_field:80->tp_dst", "set_field tp_dst: prerequisite not met"},
        {"actions=set_field:1", "set_field: expected set_field:value->field"},
        {"actions=controller:70000", "controller: bad max_len"},
        {"actions=resubmit(1)", "resubmit: expected resubmit(port,table)"},
        {"actions=resubmit(,300)", "resubmit: bad table '300'"},
        {"actions=resubmit(,)", "resubmit: give a port or a table"},
        {"actions=resubmit(1,2", "missing ')'"},
        {"table=3,actions=goto_table:2", "goto_table: table 2 is not after"},
        {"actions=goto_table:1,output:1", "apply actions must come before goto_table"},
        {"actions=write_metadata:1,clear_actions", "clear_actions must come before write_metadata"},
        {"actions=clear_actions,clear_actions", "clear_actions given twice"},
        {"actions=write_actions(output:1),write_actions(output:2)", "write_actions given twice"},
        {"actions=write_actions(goto_table:2)", "cannot be in an action set"},
        {"actions=write_actions(resubmit(,2))", "cannot be in an action set"},
        {"actions=write_actions(output:1", "missing ')'"},
        {"actions=write_metadata:0x3/0x1", "has bits outside mask"},
        {"actions=write_metadata:zz", "write_metadata: expected VALUE[/MASK]"},
        {"actions=write_metadata", "write_metadata: missing argument"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256] = "";
        int r = sw_ofproto_add_flow(ofp, cases[i].text, err, sizeof(err));
        if (r != -EINVAL || !strstr(err, cases[i].error))
            fail_msg("'%s': got %d '%s', want '%s'", cases[i].text, r, err, cases[i].error);
    }
    char err[128];
    assert_int_equal(sw_ofproto_del_flows(ofp, "actions=drop", false, NULL, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "not allowed when deleting"));
    assert_int_equal(sw_ofproto_rule_count(ofp), 0);
    sw_ofproto_destroy(ofp);
}

static void test_round_trips(void **state)
{
    (void)state;
    struct sw_ofproto *ofp = bridge(false);
    /* input text -> canonical dump line (a canonical line parses to itself) */
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"actions=normal", "priority=32768 actions=NORMAL"},
        {"priority=0,actions=", "priority=0 actions=drop"},
        {"priority=5,in_port=eth2,dl_vlan=10,actions=strip_vlan,output:eth3",
         "priority=5,in_port=2,dl_vlan=10 actions=strip_vlan,output:3"},
        {"priority=6,actions=2,in_port,flood,all,controller,controller:64",
         "priority=6 actions=output:2,IN_PORT,FLOOD,ALL,CONTROLLER:65535,CONTROLLER:64"},
        {"priority=7,actions=output:NORMAL,output:in_port,controller(max_len=9)",
         "priority=7 actions=NORMAL,IN_PORT,CONTROLLER:9"},
        {"priority=8,actions=mod_vlan_vid:7,mod_vlan_pcp:3,pop_vlan,push_vlan:0x88a8",
         "priority=8 actions=mod_vlan_vid:7,mod_vlan_pcp:3,pop_vlan,push_vlan:0x88a8"},
        {"priority=9,actions=mod_dl_src:00:11:22:33:44:55,mod_dl_dst:66:77:88:99:aa:bb",
         "priority=9 actions=mod_dl_src:00:11:22:33:44:55,mod_dl_dst:66:77:88:99:aa:bb"},
        {"priority=10,actions=mod_nw_src:1.2.3.4,mod_nw_dst:5.6.7.8,mod_nw_tos:0x20,"
         "mod_nw_ecn:2,mod_nw_ttl:9,dec_ttl,mod_tp_src:1,mod_tp_dst:2",
         "priority=10 actions=mod_nw_src:1.2.3.4,mod_nw_dst:5.6.7.8,mod_nw_tos:32,"
         "mod_nw_ecn:2,mod_nw_ttl:9,dec_ttl,mod_tp_src:1,mod_tp_dst:2"},
        {"priority=11,tcp6,actions=set_field:2001:db8::1->ipv6_dst,set_field:10->ip_dscp,"
         "set_field:443->tcp_dst,set_field:5->vlan_vid,set_field:1->vlan_pcp,"
         "set_field:00:00:00:00:00:01->eth_src",
         "priority=11,tcp6 actions=set_field:2001:db8::1->ipv6_dst,set_field:10->ip_dscp,"
         "set_field:443->tcp_dst,set_field:5->vlan_vid,set_field:1->vlan_pcp,"
         "set_field:00:00:00:00:00:01->eth_src"},
        {"table=1,priority=12,ip,nw_dst=10.0.0.0/8,actions=resubmit(,2),resubmit:3,"
         "resubmit(eth1,4),goto_table:9",
         "priority=12,ip,nw_dst=10.0.0.0/8 actions=resubmit(,2),resubmit:3,resubmit(1,4),"
         "goto_table:9"},
        {"priority=13,metadata=0x10/0xf0,ip,actions=dec_ttl,clear_actions,"
         "write_actions(pop_vlan, mod_nw_src:1.2.3.4,output:2),write_metadata:0x5/0xff,"
         "goto_table:4",
         "priority=13,metadata=0x10/0xf0,ip actions=dec_ttl,clear_actions,"
         "write_actions(pop_vlan,mod_nw_src:1.2.3.4,output:2),write_metadata:0x5/0xff,"
         "goto_table:4"},
        {"priority=14,actions=write_actions(),write_metadata:0x1",
         "priority=14 actions=write_actions(),write_metadata:0x1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256] = "";
        if (sw_ofproto_add_flow(ofp, cases[i].in, err, sizeof(err)))
            fail_msg("'%s': %s", cases[i].in, err);
        struct sw_flow_mod fm;
        assert_int_equal(sw_flow_mod_parse(ofp, SW_FM_ADD, cases[i].in, &fm, err, sizeof(err)),
                         0);
        struct sw_rule_info info = {.priority = fm.priority, .match = fm.match,
                                    .mask = fm.mask, .actions = fm.actions};
        char text[1024];
        sw_rule_format(&info, text, sizeof(text));
        assert_string_equal(text, cases[i].out);
        sw_flow_mod_uninit(&fm);
        /* canonical text parses back to the same text */
        char again[1024];
        snprintf(again, sizeof(again), "%s", cases[i].out);
        char *sp = strstr(again, " actions=");
        *sp = ',';
        assert_int_equal(sw_flow_mod_parse(ofp, SW_FM_ADD, again, &fm, err, sizeof(err)), 0);
        info = (struct sw_rule_info){.priority = fm.priority, .match = fm.match,
                                     .mask = fm.mask, .actions = fm.actions};
        sw_rule_format(&info, text, sizeof(text));
        assert_string_equal(text, cases[i].out);
        sw_flow_mod_uninit(&fm);
    }
    sw_ofproto_destroy(ofp);
}

static void test_flow_mods_and_dump(void **state)
{
    (void)state;
    struct sw_ofproto *ofp = bridge(true);
    char buf[4096], err[256];
    sw_ofproto_dump_flows(ofp, NULL, false, buf, sizeof(buf));
    assert_string_equal(buf, " cookie=0x0, table=0, priority=0 actions=NORMAL\n");
    assert_int_equal(sw_ofproto_add_flow(ofp, "cookie=0x10,priority=5,in_port=1,actions=output:2",
                                         err, sizeof(err)), 0);
    assert_int_equal(sw_ofproto_add_flow(ofp, "cookie=0x20,priority=6,in_port=1,ip,actions=output:3",
                                         err, sizeof(err)), 0);
    assert_int_equal(sw_ofproto_add_flow(ofp, "table=1,cookie=0x10,in_port=2,actions=output:1",
                                         err, sizeof(err)), 0);
    /* add of an identical (table, priority, match) replaces */
    assert_int_equal(sw_ofproto_add_flow(ofp, "cookie=0x11,priority=5,in_port=1,actions=output:3",
                                         err, sizeof(err)), 0);
    assert_int_equal(sw_ofproto_rule_count(ofp), 4);
    sw_ofproto_dump_flows(ofp, NULL, false, buf, sizeof(buf));
    assert_string_equal(buf,
                        " cookie=0x20, table=0, priority=6,in_port=1,ip actions=output:3\n"
                        " cookie=0x11, table=0, priority=5,in_port=1 actions=output:3\n"
                        " cookie=0x0, table=0, priority=0 actions=NORMAL\n"
                        " cookie=0x10, table=1, priority=32768,in_port=2 actions=output:1\n");
    /* non-strict modify: every rule in_port=1 covers (priority ignored) */
    assert_int_equal(sw_ofproto_mod_flows(ofp, "in_port=1,actions=output:2", false, err,
                                          sizeof(err)), 0);
    sw_ofproto_dump_flows(ofp, "table=0,in_port=1", false, buf, sizeof(buf));
    assert_string_equal(buf,
                        " cookie=0x20, table=0, priority=6,in_port=1,ip actions=output:2\n"
                        " cookie=0x11, table=0, priority=5,in_port=1 actions=output:2\n");
    /* strict modify needs the exact priority and match */
    assert_int_equal(sw_ofproto_mod_flows(ofp, "priority=6,in_port=1,actions=drop", true, err,
                                          sizeof(err)), 0);
    sw_ofproto_dump_flows(ofp, "in_port=1,ip", false, buf, sizeof(buf));
    assert_string_equal(buf, " cookie=0x20, table=0, priority=6,in_port=1,ip actions=output:2\n");
    assert_int_equal(sw_ofproto_mod_flows(ofp, "priority=6,in_port=1,ip,actions=drop", true, err,
                                          sizeof(err)), 0);
    sw_ofproto_dump_flows(ofp, "in_port=1,ip", false, buf, sizeof(buf));
    assert_string_equal(buf, " cookie=0x20, table=0, priority=6,in_port=1,ip actions=drop\n");
    /* delete by cookie across tables */
    unsigned n;
    assert_int_equal(sw_ofproto_del_flows(ofp, "cookie=0x10/0xf0", false, &n, err, sizeof(err)),
                     0);
    assert_int_equal(n, 2);
    /* delete with out_port filter */
    assert_int_equal(sw_ofproto_add_flow(ofp, "priority=9,actions=output:3", err, sizeof(err)), 0);
    assert_int_equal(sw_ofproto_del_flows(ofp, "out_port=eth3", false, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    /* strict delete */
    assert_int_equal(sw_ofproto_del_flows(ofp, "priority=0", true, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    sw_ofproto_dump_flows(ofp, NULL, false, buf, sizeof(buf));
    assert_string_equal(buf, " cookie=0x20, table=0, priority=6,in_port=1,ip actions=drop\n");
    assert_int_equal(sw_ofproto_del_flows(ofp, "", false, &n, err, sizeof(err)), 0);
    assert_int_equal(sw_ofproto_rule_count(ofp), 0);
    sw_ofproto_destroy(ofp);
}

static void test_stats_timeouts_trace_upcall(void **state)
{
    (void)state;
    struct sw_ofproto *ofp = bridge(true);
    char err[256], buf[4096];
    assert_int_equal(sw_ofproto_add_flow(ofp, "priority=5,in_port=1,idle_timeout=10,"
                                              "actions=output:2", err, sizeof(err)), 0);
    assert_int_equal(sw_ofproto_add_flow(ofp, "priority=5,in_port=3,hard_timeout=20,"
                                              "actions=output:2", err, sizeof(err)), 0);
    struct sw_upcall up;
    memset(&up, 0, sizeof(up));
    struct sw_flow_key key;
    struct sw_flow_mask m;
    assert_int_equal(sw_flow_parse("in_port=11,dl_dst=00:00:00:00:00:02", &key, &m, NULL, 0), 0);
    up.key = &key;
    sw_odp_buf_init(&up.actions);
    assert_int_equal(sw_ofproto_upcall(ofp, &up), SW_UPCALL_INSTALL);
    assert_ptr_equal(up.flow_user, ofp);
    sw_odp_format(up.actions.data, up.actions.len, buf, sizeof(buf), NULL, NULL);
    assert_string_equal(buf, "12");
    /* an installing upcall counts nothing: the megaflow's statistics are
     * credited later */
    sw_ofproto_dump_flows(ofp, "in_port=1", true, buf, sizeof(buf));
    assert_non_null(strstr(buf, "n_packets=0, n_bytes=0, idle_timeout=10,"));
    sw_ofproto_credit(ofp, &key, 7, 700, 0);
    sw_ofproto_credit(ofp, &key, 0, 100, 0); /* nothing */
    sw_ofproto_dump_flows(ofp, "in_port=1", true, buf, sizeof(buf));
    assert_non_null(strstr(buf, "n_packets=7, n_bytes=700, idle_timeout=10,"));
    sw_ofproto_dump_flows(ofp, "in_port=3", true, buf, sizeof(buf));
    assert_non_null(strstr(buf, "n_packets=0, n_bytes=0, hard_timeout=20,"));
    /* a key from a port outside the bridge: not installed */
    key.in_port = 99;
    sw_odp_buf_init(&up.actions);
    assert_int_equal(sw_ofproto_upcall(ofp, &up), SW_UPCALL_NO_INSTALL);
    /* slow-protocol frames are never installed */
    key.in_port = 11;
    key.dl_type = 0x8809;
    assert_int_equal(sw_ofproto_upcall(ofp, &up), SW_UPCALL_NO_INSTALL);

    /* trace */
    int len = sw_ofproto_trace(ofp, "in_port=eth1,dl_src=00:00:00:00:00:01,"
                                    "dl_dst=00:00:00:00:00:02", buf, sizeof(buf));
    assert_true(len > 0 && (size_t)len < sizeof(buf));
    assert_non_null(strstr(buf, "Flow: in_port=1,"));
    assert_non_null(strstr(buf, " 0. in_port=1, priority 5, cookie 0x0\n    output:2\n"));
    assert_non_null(strstr(buf, "Megaflow: in_port=11\n"));
    assert_non_null(strstr(buf, "Datapath actions: 12\n"));
    assert_int_equal(sw_ofproto_trace(ofp, "in_port=nosuch", buf, sizeof(buf)), -EINVAL);
    assert_non_null(strstr(buf, "in_port: unknown port"));

    /* timeouts: idle counts from the last hit */
    now_ms += 10 * 1000;
    sw_ofproto_run(ofp, NULL, NULL);
    assert_int_equal(sw_ofproto_rule_count(ofp), 2);
    now_ms += 10 * 1000;
    sw_ofproto_run(ofp, NULL, NULL);
    assert_int_equal(sw_ofproto_rule_count(ofp), 1); /* both gone but NORMAL */
    sw_ofproto_destroy(ofp);
}

/* Rule @i of the large table: a distinct nw_src and tp_src per rule, output
 * to port 2 or 3 so that translation shows which rule was hit. */
#define MANY_RULES 100000

static void many_rule_text(unsigned i, unsigned out, char *buf, size_t size)
{
    snprintf(buf, size, "priority=100,ip,nw_src=10.%u.%u.%u,udp,tp_src=%u,actions=output:%u",
             (i >> 16) & 255, (i >> 8) & 255, i & 255, i & 0xffff, out);
}

static unsigned many_rule_out(unsigned i)
{
    return 2 + (i & 1);
}

/* Translate the packet rule @i matches (from eth1) and return its actions. */
static void many_rule_xlate(struct sw_ofproto *ofp, unsigned i, char *actions, size_t size)
{
    char flow[160];
    snprintf(flow, sizeof(flow), "in_port=11,ip,nw_src=10.%u.%u.%u,nw_dst=192.168.0.1,udp,"
             "tp_src=%u,tp_dst=53", (i >> 16) & 255, (i >> 8) & 255, i & 255, i & 0xffff);
    struct sw_flow_key key;
    struct sw_flow_mask m, wc;
    assert_int_equal(sw_flow_parse(flow, &key, &m, NULL, 0), 0);
    struct sw_odp_buf odp;
    sw_odp_buf_init(&odp);
    memset(&wc, 0, sizeof(wc));
    assert_int_equal(sw_ofproto_xlate(ofp, &key, NULL, &odp, &wc, SW_XLATE_NO_STATS, NULL), 0);
    sw_odp_format(odp.data, odp.len, actions, size, NULL, NULL);
}

static double elapsed_ms(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static void test_many_rules(void **state)
{
    (void)state;
    struct sw_ofproto *ofp = bridge(false);
    char text[160], err[256], actions[256], dump[512];
    unsigned n;

    /* parsed first, like kvmkit-switchd's flow.add, so the timing is the loading */
    struct sw_flow_mod *fms = calloc(MANY_RULES, sizeof(*fms));
    assert_non_null(fms);
    for (unsigned i = 0; i < MANY_RULES; i++) {
        many_rule_text(i, many_rule_out(i), text, sizeof(text));
        assert_int_equal(sw_flow_mod_parse(ofp, SW_FM_ADD, text, &fms[i], err, sizeof(err)), 0);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned i = 0; i < MANY_RULES; i++) {
        assert_int_equal(sw_ofproto_flow_mod(ofp, SW_FM_ADD, &fms[i], &n), 0);
        assert_int_equal(n, 1);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("# loaded %u rules in %.0f ms\n", MANY_RULES, elapsed_ms(&t0, &t1));
    for (unsigned i = 0; i < MANY_RULES; i++)
        sw_flow_mod_uninit(&fms[i]);
    free(fms);
    assert_int_equal(sw_ofproto_rule_count(ofp), MANY_RULES);

    /* every 997th rule, and the last, is hit through translation */
    for (unsigned i = 0; i < MANY_RULES + 997; i += 997) {
        unsigned rule = i < MANY_RULES ? i : MANY_RULES - 1;
        char exp[8];
        snprintf(exp, sizeof(exp), "%u", 10 + many_rule_out(rule));
        many_rule_xlate(ofp, rule, actions, sizeof(actions));
        assert_string_equal(actions, exp);
    }

    /* an identical (table, priority, match) add replaces: same count, new actions */
    many_rule_text(4242, 3, text, sizeof(text));  /* rule 4242 had output:2 */
    assert_int_equal(sw_ofproto_add_flow(ofp, text, err, sizeof(err)), 0);
    assert_int_equal(sw_ofproto_rule_count(ofp), MANY_RULES);
    many_rule_xlate(ofp, 4242, actions, sizeof(actions));
    assert_string_equal(actions, "13");
    /* 4242 = 0x1092: nw_src 10.0.16.146 */
    sw_ofproto_dump_flows(ofp, "udp,nw_src=10.0.16.146", false, dump, sizeof(dump));
    assert_string_equal(dump, " cookie=0x0, table=0, priority=100,udp,nw_src=10.0.16.146,"
                                 "tp_src=4242 actions=output:3\n");
    /* same match at another priority is another rule */
    snprintf(text, sizeof(text), "priority=99,ip,nw_src=10.0.16.146,udp,tp_src=4242,"
             "actions=output:1");
    assert_int_equal(sw_ofproto_add_flow(ofp, text, err, sizeof(err)), 0);
    assert_int_equal(sw_ofproto_rule_count(ofp), MANY_RULES + 1);

    /* strict delete: a near miss (other priority, other tp_src) removes nothing */
    /* (rule 66560 = 0x10400: nw_src 10.1.4.0, tp_src 1024, output:2) */
    assert_int_equal(sw_ofproto_del_flows(ofp, "priority=101,ip,nw_src=10.1.4.0,udp,"
                                               "tp_src=1024", true, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sw_ofproto_del_flows(ofp, "priority=100,ip,nw_src=10.1.4.0,udp,"
                                               "tp_src=1025", true, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sw_ofproto_del_flows(ofp, "priority=100,ip,nw_src=10.1.4.0,udp",
                                          true, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sw_ofproto_rule_count(ofp), MANY_RULES + 1);
    many_rule_xlate(ofp, 66560, actions, sizeof(actions));
    assert_string_equal(actions, "12");
    assert_int_equal(sw_ofproto_del_flows(ofp, "priority=100,ip,nw_src=10.1.4.0,udp,"
                                               "tp_src=1024", true, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    assert_int_equal(sw_ofproto_rule_count(ofp), MANY_RULES);
    many_rule_xlate(ofp, 66560, actions, sizeof(actions));
    assert_string_equal(actions, "drop");                    /* table miss */
    many_rule_xlate(ofp, 66561, actions, sizeof(actions));   /* its neighbours stay */
    assert_string_equal(actions, "13");
    many_rule_xlate(ofp, 66559, actions, sizeof(actions));
    assert_string_equal(actions, "13");
    /* deleting it again finds nothing; re-adding it works */
    assert_int_equal(sw_ofproto_del_flows(ofp, "priority=100,ip,nw_src=10.1.4.0,udp,"
                                               "tp_src=1024", true, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    many_rule_text(66560, 3, text, sizeof(text));
    assert_int_equal(sw_ofproto_add_flow(ofp, text, err, sizeof(err)), 0);
    assert_int_equal(sw_ofproto_rule_count(ofp), MANY_RULES + 1);
    many_rule_xlate(ofp, 66560, actions, sizeof(actions));
    assert_string_equal(actions, "13");

    /* strict modify of one rule; the priority-99 twin of 4242 is untouched */
    assert_int_equal(sw_ofproto_mod_flows(ofp, "priority=100,ip,nw_src=10.0.16.146,udp,"
                                               "tp_src=4242,actions=output:1", true, err,
                                          sizeof(err)), 0);
    sw_ofproto_dump_flows(ofp, "udp,nw_src=10.0.16.146", false, dump, sizeof(dump));
    assert_string_equal(dump, " cookie=0x0, table=0, priority=100,udp,nw_src=10.0.16.146,"
                                 "tp_src=4242 actions=output:1\n"
                                 " cookie=0x0, table=0, priority=99,udp,nw_src=10.0.16.146,"
                                 "tp_src=4242 actions=output:1\n");
    /* non-strict delete in another table finds nothing; in table 0 it finds both */
    assert_int_equal(sw_ofproto_del_flows(ofp, "table=1,udp,nw_src=10.0.16.146", false, &n,
                                          err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sw_ofproto_del_flows(ofp, "table=0,udp,nw_src=10.0.16.146", false, &n,
                                          err, sizeof(err)), 0);
    assert_int_equal(n, 2);
    assert_int_equal(sw_ofproto_rule_count(ofp), MANY_RULES - 1);
    assert_int_equal(sw_ofproto_del_flows(ofp, "", false, &n, err, sizeof(err)), 0);
    assert_int_equal(n, MANY_RULES - 1);
    assert_int_equal(sw_ofproto_rule_count(ofp), 0);
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

/* ---- flow-removed notifications and table statistics ---- */

struct removed {
    unsigned n;
    int reasons[8];
    int32_t priorities[8];
    uint64_t packets[8];
};

static void on_removed(void *arg, const struct sw_rule_info *rule, int reason)
{
    struct removed *r = arg;
    if (r->n < 8) {
        r->reasons[r->n] = reason;
        r->priorities[r->n] = rule->priority;
        r->packets[r->n] = rule->n_packets;
    }
    r->n++;
}

static void test_flow_removed_and_table_stats(void **state)
{
    (void)state;
    struct removed rm = {0};
    struct sw_ofproto_settings s = {.name = "br1", .now_ms = test_clock, .no_default_flow = true,
                                    .flow_removed = on_removed, .flow_removed_arg = &rm};
    struct sw_ofproto *ofp;
    assert_int_equal(sw_ofproto_create(&s, &ofp), 0);
    struct sw_port_settings ps = {.name = "p1", .dp_port = 21};
    uint32_t of;
    assert_int_equal(sw_ofproto_port_add(ofp, &ps, &of), 0);
    char err[256];
    now_ms = 100000;
    assert_int_equal(sw_ofproto_add_flow(ofp, "priority=1,idle_timeout=5,send_flow_rem,"
                                              "actions=drop", err, sizeof(err)), 0);
    assert_int_equal(sw_ofproto_add_flow(ofp, "priority=2,hard_timeout=9,send_flow_rem,"
                                              "actions=drop", err, sizeof(err)), 0);
    assert_int_equal(sw_ofproto_add_flow(ofp, "priority=3,send_flow_rem,actions=drop", err,
                                         sizeof(err)), 0);
    assert_int_equal(sw_ofproto_add_flow(ofp, "priority=4,actions=drop", err, sizeof(err)), 0);
    assert_int_equal(sw_ofproto_add_flow(ofp, "priority=5,ip,send_flow_rem,actions=goto_table:1",
                                         err, sizeof(err)), 0);
    /* an identical add replaces without a notification */
    assert_int_equal(sw_ofproto_add_flow(ofp, "priority=3,send_flow_rem,actions=drop", err,
                                         sizeof(err)), 0);
    assert_int_equal(rm.n, 0);
    /* table statistics from credited traffic: 4 IP packets match priority 5
     * and miss table 1; 2 ARP packets hit priority 4 */
    struct sw_flow_key k;
    struct sw_flow_mask m;
    assert_int_equal(sw_flow_parse("in_port=21,ip", &k, &m, NULL, 0), 0);
    sw_ofproto_credit(ofp, &k, 4, 400, 0);
    assert_int_equal(sw_flow_parse("in_port=21,arp", &k, &m, NULL, 0), 0);
    sw_ofproto_credit(ofp, &k, 2, 120, 0);
    struct sw_table_stats ts;
    assert_int_equal(sw_ofproto_table_stats(ofp, 0, &ts), 0);
    assert_int_equal(ts.active, 5);
    assert_int_equal(ts.lookups, 6);
    assert_int_equal(ts.matched, 6);
    assert_int_equal(sw_ofproto_table_stats(ofp, 1, &ts), 0);
    assert_int_equal(ts.active, 0);
    assert_int_equal(ts.lookups, 4);
    assert_int_equal(ts.matched, 0);
    assert_int_equal(sw_ofproto_table_stats(ofp, 255, &ts), -EINVAL);
    /* idle timeout after 5 s without traffic, hard after 9 s */
    now_ms += 6000;
    sw_ofproto_run(ofp, NULL, NULL);
    assert_int_equal(rm.n, 1);
    assert_int_equal(rm.reasons[0], SW_RR_IDLE_TIMEOUT);
    assert_int_equal(rm.priorities[0], 1);
    now_ms += 4000;
    sw_ofproto_run(ofp, NULL, NULL);
    assert_int_equal(rm.n, 2);
    assert_int_equal(rm.reasons[1], SW_RR_HARD_TIMEOUT);
    assert_int_equal(rm.priorities[1], 2);
    /* deletes: only rules that asked; with their counters */
    unsigned n_del = 0;
    assert_int_equal(sw_ofproto_del_flows(ofp, "", false, &n_del, err, sizeof(err)), 0);
    assert_int_equal(n_del, 3);
    assert_int_equal(rm.n, 4);
    for (unsigned i = 2; i < 4; i++) {
        assert_int_equal(rm.reasons[i], SW_RR_DELETE);
        assert_true(rm.priorities[i] == 3 || rm.priorities[i] == 5);
        assert_int_equal(rm.packets[i], rm.priorities[i] == 3 ? 0 : 4); /* ARP hit priority 4 */
    }
    /* a group's deletion removes its rules with reason GROUP_DELETE */
    assert_int_equal(sw_ofproto_group_mod(ofp, SW_GM_ADD, "group_id=3,type=all,bucket=output:1",
                                          err, sizeof(err)), 0);
    assert_int_equal(sw_ofproto_add_flow(ofp, "priority=6,send_flow_rem,actions=group:3", err,
                                         sizeof(err)), 0);
    assert_int_equal(sw_ofproto_group_mod(ofp, SW_GM_DELETE, "group_id=3", err, sizeof(err)),
                     0);
    assert_int_equal(rm.n, 5);
    assert_int_equal(rm.reasons[4], SW_RR_GROUP_DELETE);
    sw_ofproto_destroy(ofp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_ports),
        cmocka_unit_test(test_refused_flows),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_flow_mods_and_dump),
        cmocka_unit_test(test_stats_timeouts_trace_upcall),
        cmocka_unit_test(test_many_rules),
        cmocka_unit_test(test_flow_removed_and_table_stats),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
