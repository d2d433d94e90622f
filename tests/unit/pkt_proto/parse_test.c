/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkt_parse(): refused and odd frames first, then one valid frame of every
 * protocol with its expected flow, each also cut at every byte offset and
 * parsed from an exact-size heap copy (ASan catches any read past the end).
 */
#include "kk_common.h"
#include "kk_test.h"
#include "pkt_build.h"
#include "pkt_proto.h"

#define IN_PORT 7
#define DST {0x02, 0x11, 0x22, 0x33, 0x44, 0x55}
#define SRC {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}
#define IP6S {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
#define IP6D {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0xff, 0xfe, 0x78, 0x9a, 0xbc}
#define ETH_F .in_port = IN_PORT, .dl_dst = DST, .dl_src = SRC
#define IP4_F                                                                              \
    .nw_src = B_IP4_SRC, .nw_dst = B_IP4_DST, .nw_tos = 0xb9, .nw_dscp = 46, .nw_ecn = 1,  \
    .nw_ttl = 64
#define IP6_F                                                                              \
    .ipv6_src = IP6S, .ipv6_dst = IP6D, .ipv6_label = 0x12345, .nw_tos = 0xa5,             \
    .nw_dscp = 0x29, .nw_ecn = 1, .nw_ttl = 255

static const uint8_t ND_TARGET[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42};
static const uint8_t MAC_OPT[6] = {0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};

/* Parse an exact-size heap copy of the first @len bytes of @b. */
static enum pkt_status parse_copy(const uint8_t *data, size_t len, struct pkt_flow *f,
                                  struct pkt_layout *lay)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, data, len);
    f->in_port = IN_PORT;
    enum pkt_status st = pkt_parse(len ? copy : NULL, len, f, lay);
    free(copy);
    assert_int_equal(st, lay->status);
    assert_int_equal(f->in_port, IN_PORT);
    assert_true((st == PKT_OK) == (lay->err_layer == PKT_LAYER_NONE));
    return st;
}

/* ---- Builders of the valid frames ---- */

static void eth_unknown(struct bld *b)
{
    b_eth(b, 0x88b5);
    b_bytes(b, "local experimental", 18);
}

static void snap_arp(struct bld *b)
{
    b_eth(b, 0);
    b_snap(b, PKT_ETH_TYPE_ARP);
    b_arp(b, PKT_ARP_OP_REQUEST);
    b->b[12] = 0;
    b->b[13] = (uint8_t)(b->n - 14);
}

static void arp_request(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_ARP);
    b_arp(b, PKT_ARP_OP_REQUEST);
}

static void vlan_arp_reply(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_VLAN);
    b_tag(b, 5 << 13 | PKT_VLAN_DEI | 100, PKT_ETH_TYPE_ARP);
    b_arp(b, PKT_ARP_OP_REPLY);
}

static void qinq_ipv4_tcp(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_QINQ);
    b_tag(b, 1 << 13 | 0x064, PKT_ETH_TYPE_VLAN);
    b_tag(b, 7 << 13 | 0x00a, PKT_ETH_TYPE_IPV4);
    b_ipv4(b, PKT_IPPROTO_TCP, PKT_IPV4_DF, NULL, 0);
    b_tcp(b, 49152, 80, PKT_TCP_SYN | PKT_TCP_ECE | PKT_TCP_CWR | PKT_TCP_NS, 0);
    b_payload(b, 20);
    b_finish(b);
}

static void ipv4_options_udp(struct bld *b)
{
    /* Router alert (4 bytes), three NOPs and an EOL. */
    static const uint8_t opt[8] = {0x94, 0x04, 0x00, 0x00, 1, 1, 1, 0};
    b_eth(b, PKT_ETH_TYPE_IPV4);
    b_ipv4(b, PKT_IPPROTO_UDP, 0, opt, sizeof(opt));
    b_udp(b, 53, 33000);
    b_payload(b, 7);
    b_finish(b);
}

static void ipv4_icmp_echo(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV4);
    b_ipv4(b, PKT_IPPROTO_ICMP, 0, NULL, 0);
    b_icmp(b, 8, 0, 0x00010002);
    b_payload(b, 16);
    b_finish(b);
}

static void ipv4_sctp(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV4);
    b_ipv4(b, PKT_IPPROTO_SCTP, 0, NULL, 0);
    b_sctp(b, 2905, 36412);
    b_payload(b, 16);
    b_finish(b);
}

static void ipv4_frag_first(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV4);
    b_ipv4(b, PKT_IPPROTO_TCP, PKT_IPV4_MF, NULL, 0);
    b_tcp(b, 1000, 2000, PKT_TCP_ACK | PKT_TCP_PSH, 4);
    b_payload(b, 16);
    b_finish(b);
}

static void ipv4_frag_later(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV4);
    b_ipv4(b, PKT_IPPROTO_UDP, 3, NULL, 0);
    b_payload(b, 16);
    b_finish(b);
}

static void ipv6_tcp(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV6);
    b_ipv6(b, PKT_IPPROTO_TCP);
    b_tcp(b, 443, 50000, PKT_TCP_FIN | PKT_TCP_ACK | PKT_TCP_URG | PKT_TCP_RST, 12);
    b_payload(b, 10);
    b_finish(b);
}

static void ipv6_ext_chain_udp(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV6);
    b_ipv6(b, PKT_IPPROTO_HOPOPTS);
    b_ext(b, PKT_IPPROTO_HOPOPTS, PKT_IPPROTO_ROUTING, 8);
    b_ext(b, PKT_IPPROTO_ROUTING, PKT_IPPROTO_DSTOPTS, 24);
    b_ext(b, PKT_IPPROTO_DSTOPTS, PKT_IPPROTO_AH, 16);
    b_ext(b, PKT_IPPROTO_AH, PKT_IPPROTO_UDP, 24);
    b_udp(b, 4789, 4789);
    b_payload(b, 5);
    b_finish(b);
}

static void ipv6_frag_first_udp(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV6);
    b_ipv6(b, PKT_IPPROTO_FRAGMENT);
    b_frag6(b, PKT_IPPROTO_UDP, PKT_IPV6_FRAG_MORE);
    b_udp(b, 5000, 6000);
    b_payload(b, 16);
    b_finish(b);
}

static void ipv6_frag_later(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV6);
    b_ipv6(b, PKT_IPPROTO_DSTOPTS);
    b_ext(b, PKT_IPPROTO_DSTOPTS, PKT_IPPROTO_FRAGMENT, 8);
    b_frag6(b, PKT_IPPROTO_TCP, 16 << 3);
    b->l4_proto = PKT_IPPROTO_TCP;
    b_payload(b, 12);
    b_finish(b);
}

static void ipv6_atomic_frag_echo(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV6);
    b_ipv6(b, PKT_IPPROTO_FRAGMENT);
    b_frag6(b, PKT_IPPROTO_ICMPV6, 0);
    b_icmp(b, 128, 0, 0x12340001);
    b_payload(b, 8);
    b_finish(b);
}

static void vlan_ipv6_sctp(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_VLAN);
    b_tag(b, 0x0ffe, PKT_ETH_TYPE_IPV6);
    b_ipv6(b, PKT_IPPROTO_SCTP);
    b_sctp(b, 7, 9);
    b_payload(b, 20);
    b_finish(b);
}

static void nd_ns_sll(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV6);
    b_ipv6(b, PKT_IPPROTO_ICMPV6);
    b_icmp(b, PKT_ICMP6_ND_NS, 0, 0);
    b_nd_target(b, ND_TARGET);
    b_nd_opt(b, 14, 1, NULL); /* nonce (RFC 3971): skipped */
    b_nd_opt(b, PKT_ND_OPT_SLL, 1, MAC_OPT);
    b_finish(b);
}

static void nd_na_tll(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV6);
    b_ipv6(b, PKT_IPPROTO_ICMPV6);
    b_icmp(b, PKT_ICMP6_ND_NA, 0, 0x60000000);
    b_nd_target(b, ND_TARGET);
    b_nd_opt(b, PKT_ND_OPT_TLL, 1, MAC_OPT);
    b_nd_opt(b, 2, 2, NULL); /* a 16-byte link-layer option: another link type, skipped */
    b_finish(b);
}

static void nd_ns_bare(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV6);
    b_ipv6(b, PKT_IPPROTO_ICMPV6);
    b_icmp(b, PKT_ICMP6_ND_NS, 0, 0);
    b_nd_target(b, ND_TARGET);
    b_finish(b);
}

struct valid_case {
    const char *name;
    void (*build)(struct bld *);
    uint8_t l3, l4;
    struct pkt_flow expect;
};

#define ND_T {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42}
#define MAC_O {0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f}
#define ARP_F(op)                                                                          \
    .arp_op = op, .arp_spa = B_IP4_SRC, .arp_tpa = B_IP4_DST, .arp_sha = SRC, .arp_tha = DST

static const struct valid_case valid_cases[] = {
    {"eth-unknown-type", eth_unknown, PKT_LAYER_NONE, PKT_LAYER_NONE,
     {ETH_F, .layers = PKT_HAS_ETH, .dl_type = 0x88b5}},
    {"llc-snap-arp", snap_arp, PKT_LAYER_ARP, PKT_LAYER_NONE,
     {ETH_F, .layers = PKT_HAS_ETH | PKT_HAS_ARP, .dl_type = PKT_ETH_TYPE_ARP,
      ARP_F(PKT_ARP_OP_REQUEST)}},
    {"arp-request", arp_request, PKT_LAYER_ARP, PKT_LAYER_NONE,
     {ETH_F, .layers = PKT_HAS_ETH | PKT_HAS_ARP, .dl_type = PKT_ETH_TYPE_ARP,
      ARP_F(PKT_ARP_OP_REQUEST)}},
    {"vlan-arp-reply", vlan_arp_reply, PKT_LAYER_ARP, PKT_LAYER_NONE,
     {ETH_F, .layers = PKT_HAS_ETH | PKT_HAS_VLAN | PKT_HAS_ARP, .dl_type = PKT_ETH_TYPE_ARP,
      .n_vlans = 1, .vlans = {{PKT_ETH_TYPE_VLAN, 100, 5, 1}}, ARP_F(PKT_ARP_OP_REPLY)}},
    {"qinq-ipv4-tcp", qinq_ipv4_tcp, PKT_LAYER_IPV4, PKT_LAYER_TCP,
     {ETH_F, .layers = PKT_HAS_ETH | PKT_HAS_VLAN | PKT_HAS_IPV4 | PKT_HAS_TCP,
      .dl_type = PKT_ETH_TYPE_IPV4, .n_vlans = 2,
      .vlans = {{PKT_ETH_TYPE_QINQ, 100, 1, 0}, {PKT_ETH_TYPE_VLAN, 10, 7, 0}}, IP4_F,
      .nw_proto = PKT_IPPROTO_TCP, .tp_src = 49152, .tp_dst = 80, .tcp_flags = 0x1c2}},
    {"ipv4-options-udp", ipv4_options_udp, PKT_LAYER_IPV4, PKT_LAYER_UDP,
     {ETH_F, .layers = PKT_HAS_ETH | PKT_HAS_IPV4 | PKT_HAS_IP_OPTIONS | PKT_HAS_UDP,
      .dl_type = PKT_ETH_TYPE_IPV4, IP4_F, .nw_proto = PKT_IPPROTO_UDP, .tp_src = 53,
      .tp_dst = 33000}},
    {"ipv4-icmp-echo", ipv4_icmp_echo, PKT_LAYER_IPV4, PKT_LAYER_ICMP,
     {ETH_F, .layers = PKT_HAS_ETH | PKT_HAS_IPV4 | PKT_HAS_ICMP, .dl_type = PKT_ETH_TYPE_IPV4,
      IP4_F, .nw_proto = PKT_IPPROTO_ICMP, .icmp_type = 8}},
    {"ipv4-sctp", ipv4_sctp, PKT_LAYER_IPV4, PKT_LAYER_SCTP,
     {ETH_F, .layers = PKT_HAS_ETH | PKT_HAS_IPV4 | PKT_HAS_SCTP, .dl_type = PKT_ETH_TYPE_IPV4,
      IP4_F, .nw_proto = PKT_IPPROTO_SCTP, .tp_src = 2905, .tp_dst = 36412}},
    {"ipv4-first-fragment-tcp", ipv4_frag_first, PKT_LAYER_IPV4, PKT_LAYER_TCP,
     {ETH_F, .layers = PKT_HAS_ETH | PKT_HAS_IPV4 | PKT_HAS_TCP, .dl_type = PKT_ETH_TYPE_IPV4,
      IP4_F, .nw_proto = PKT_IPPROTO_TCP, .nw_frag = PKT_FRAG_FIRST, .tp_src = 1000,
      .tp_dst = 2000, .tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH}},
    {"ipv4-later-fragment", ipv4_frag_later, PKT_LAYER_IPV4, PKT_LAYER_NONE,
     {ETH_F, .layers = PKT_HAS_ETH | PKT_HAS_IPV4, .dl_type = PKT_ETH_TYPE_IPV4, IP4_F,
      .nw_proto = PKT_IPPROTO_UDP, .nw_frag = PKT_FRAG_LATER}},
    {"ipv6-tcp", ipv6_tcp, PKT_LAYER_IPV6, PKT_LAYER_TCP,
     {ETH_F, .layers = PKT_HAS_ETH | PKT_HAS_IPV6 | PKT_HAS_TCP, .dl_type = PKT_ETH_TYPE_IPV6,
      IP6_F, .nw_proto = PKT_IPPROTO_TCP, .tp_src = 443, .tp_dst = 50000, .tcp_flags = 0x035}},
    {"ipv6-ext-chain-udp", ipv6_ext_chain_udp, PKT_LAYER_IPV6, PKT_LAYER_UDP,
     {ETH_F, .layers = PKT_HAS_ETH | PKT_HAS_IPV6 | PKT_HAS_IP_OPTIONS | PKT_HAS_UDP,
      .dl_type = PKT_ETH_TYPE_IPV6, IP6_F, .nw_proto = PKT_IPPROTO_UDP, .tp_src = 4789,
      .tp_dst = 4789}},
    {"ipv6-first-fragment-udp", ipv6_frag_first_udp, PKT_LAYER_IPV6, PKT_LAYER_UDP,
     {ETH_F, .layers = PKT_HAS_ETH | PKT_HAS_IPV6 | PKT_HAS_IP_OPTIONS | PKT_HAS_UDP,
      .dl_type = PKT_ETH_TYPE_IPV6, IP6_F, .nw_proto = PKT_IPPROTO_UDP,
      .nw_frag = PKT_FRAG_FIRST, .tp_src = 5000, .tp_dst = 6000}},
    {"ipv6-later-fragment", ipv6_frag_later, PKT_LAYER_IPV6, PKT_LAYER_NONE,
     {ETH_F, .layers = PKT_HAS_ETH | PKT_HAS_IPV6 | PKT_HAS_IP_OPTIONS,
      .dl_type = PKT_ETH_TYPE_IPV6, IP6_F, .nw_proto = PKT_IPPROTO_TCP,
      .nw_frag = PKT_FRAG_LATER}},
    {"ipv6-atomic-fragment-echo", ipv6_atomic_frag_echo, PKT_LAYER_IPV6, PKT_LAYER_ICMPV6,
     {ETH_F, .layers = PKT_HAS_ETH | PKT_HAS_IPV6 | PKT_HAS_IP_OPTIONS | PKT_HAS_ICMPV6,
      .dl_type = PKT_ETH_TYPE_IPV6, IP6_F, .nw_proto = PKT_IPPROTO_ICMPV6, .icmp_type = 128}},
    {"vlan-ipv6-sctp", vlan_ipv6_sctp, PKT_LAYER_IPV6, PKT_LAYER_SCTP,
     {ETH_F, .layers = PKT_HAS_ETH | PKT_HAS_VLAN | PKT_HAS_IPV6 | PKT_HAS_SCTP,
      .dl_type = PKT_ETH_TYPE_IPV6, .n_vlans = 1, .vlans = {{PKT_ETH_TYPE_VLAN, 0xffe, 0, 0}},
      IP6_F, .nw_proto = PKT_IPPROTO_SCTP, .tp_src = 7, .tp_dst = 9}},
    {"nd-ns-sll", nd_ns_sll, PKT_LAYER_IPV6, PKT_LAYER_ICMPV6,
     {ETH_F, .layers = PKT_HAS_ETH | PKT_HAS_IPV6 | PKT_HAS_ICMPV6 | PKT_HAS_ND,
      .dl_type = PKT_ETH_TYPE_IPV6, IP6_F, .nw_proto = PKT_IPPROTO_ICMPV6,
      .icmp_type = PKT_ICMP6_ND_NS, .nd_target = ND_T, .nd_sll = MAC_O}},
    {"nd-na-tll", nd_na_tll, PKT_LAYER_IPV6, PKT_LAYER_ICMPV6,
     {ETH_F, .layers = PKT_HAS_ETH | PKT_HAS_IPV6 | PKT_HAS_ICMPV6 | PKT_HAS_ND,
      .dl_type = PKT_ETH_TYPE_IPV6, IP6_F, .nw_proto = PKT_IPPROTO_ICMPV6,
      .icmp_type = PKT_ICMP6_ND_NA, .nd_target = ND_T, .nd_tll = MAC_O}},
    {"nd-ns-no-options", nd_ns_bare, PKT_LAYER_IPV6, PKT_LAYER_ICMPV6,
     {ETH_F, .layers = PKT_HAS_ETH | PKT_HAS_IPV6 | PKT_HAS_ICMPV6 | PKT_HAS_ND,
      .dl_type = PKT_ETH_TYPE_IPV6, IP6_F, .nw_proto = PKT_IPPROTO_ICMPV6,
      .icmp_type = PKT_ICMP6_ND_NS, .nd_target = ND_T}},
};

static void assert_flow_equal(const struct pkt_flow *got, const struct pkt_flow *exp)
{
    assert_int_equal(got->in_port, exp->in_port);
    assert_int_equal(got->layers, exp->layers);
    assert_memory_equal(got->dl_dst, exp->dl_dst, 6);
    assert_memory_equal(got->dl_src, exp->dl_src, 6);
    assert_int_equal(got->dl_type, exp->dl_type);
    assert_int_equal(got->n_vlans, exp->n_vlans);
    for (int i = 0; i < PKT_MAX_VLANS; i++) {
        assert_int_equal(got->vlans[i].tpid, exp->vlans[i].tpid);
        assert_int_equal(got->vlans[i].vid, exp->vlans[i].vid);
        assert_int_equal(got->vlans[i].pcp, exp->vlans[i].pcp);
        assert_int_equal(got->vlans[i].dei, exp->vlans[i].dei);
    }
    assert_int_equal(got->arp_op, exp->arp_op);
    assert_int_equal(got->arp_spa, exp->arp_spa);
    assert_int_equal(got->arp_tpa, exp->arp_tpa);
    assert_memory_equal(got->arp_sha, exp->arp_sha, 6);
    assert_memory_equal(got->arp_tha, exp->arp_tha, 6);
    assert_int_equal(got->nw_src, exp->nw_src);
    assert_int_equal(got->nw_dst, exp->nw_dst);
    assert_memory_equal(got->ipv6_src, exp->ipv6_src, 16);
    assert_memory_equal(got->ipv6_dst, exp->ipv6_dst, 16);
    assert_int_equal(got->ipv6_label, exp->ipv6_label);
    assert_int_equal(got->nw_proto, exp->nw_proto);
    assert_int_equal(got->nw_tos, exp->nw_tos);
    assert_int_equal(got->nw_dscp, exp->nw_dscp);
    assert_int_equal(got->nw_ecn, exp->nw_ecn);
    assert_int_equal(got->nw_ttl, exp->nw_ttl);
    assert_int_equal(got->nw_frag, exp->nw_frag);
    assert_int_equal(got->tp_src, exp->tp_src);
    assert_int_equal(got->tp_dst, exp->tp_dst);
    assert_int_equal(got->tcp_flags, exp->tcp_flags);
    assert_int_equal(got->icmp_type, exp->icmp_type);
    assert_int_equal(got->icmp_code, exp->icmp_code);
    assert_memory_equal(got->nd_target, exp->nd_target, 16);
    assert_memory_equal(got->nd_sll, exp->nd_sll, 6);
    assert_memory_equal(got->nd_tll, exp->nd_tll, 6);
    /* Padding too: a flow is hashed and compared as bytes. */
    assert_memory_equal(got, exp, sizeof(*got));
}

/* ---- Negative and odd frames first ---- */

struct odd_case {
    const char *name;
    void (*build)(struct bld *);
    enum pkt_status status;
    enum pkt_layer layer;
    uint32_t layers; /* PKT_HAS_* expected */
};

static void ipv4_udp_base(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV4);
    b_ipv4(b, PKT_IPPROTO_UDP, 0, NULL, 0);
    b_udp(b, 1, 2);
    b_payload(b, 8);
    b_finish(b);
}

static void ipv4_version5(struct bld *b)
{
    ipv4_udp_base(b);
    b->b[14] = 0x55;
}

static void ipv4_ihl4(struct bld *b)
{
    ipv4_udp_base(b);
    b->b[14] = 0x44;
}

static void ipv4_totlen_short(struct bld *b)
{
    ipv4_udp_base(b);
    pkt_put16(b->b + 16, 19);
}

static void ipv4_totlen_hides_udp(struct bld *b)
{
    ipv4_udp_base(b);
    pkt_put16(b->b + 16, 24); /* room for only 4 bytes of UDP */
}

static void ipv4_bad_option_len(struct bld *b)
{
    static const uint8_t opt[4] = {0x07, 0x01, 0, 0}; /* length 1 < 2 */
    b_eth(b, PKT_ETH_TYPE_IPV4);
    b_ipv4(b, PKT_IPPROTO_UDP, 0, opt, 4);
    b_udp(b, 1, 2);
    b_finish(b);
}

static void ipv4_option_overruns(struct bld *b)
{
    static const uint8_t opt[4] = {1, 0x44, 8, 5}; /* timestamp of 8 bytes in 3 */
    b_eth(b, PKT_ETH_TYPE_IPV4);
    b_ipv4(b, PKT_IPPROTO_UDP, 0, opt, 4);
    b_udp(b, 1, 2);
    b_finish(b);
}

static void ipv4_ping_of_death(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV4);
    b_ipv4(b, PKT_IPPROTO_ICMP, PKT_IPV4_OFFSET_MASK, NULL, 0); /* offset 65528 */
    b_payload(b, 16);
    b_finish(b);
}

static void ipv4_tiny_first_fragment(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV4);
    b_ipv4(b, PKT_IPPROTO_TCP, PKT_IPV4_MF, NULL, 0);
    b_payload(b, 8); /* RFC 1858: TCP flags would be in the next fragment */
    b_finish(b);
}

static void tcp_doff4(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV4);
    b_ipv4(b, PKT_IPPROTO_TCP, 0, NULL, 0);
    b_tcp(b, 1, 2, PKT_TCP_SYN, 0);
    b_finish(b);
    b->b[34 + 12] = 0x40;
}

static void tcp_doff_past_datagram(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV4);
    b_ipv4(b, PKT_IPPROTO_TCP, 0, NULL, 0);
    b_tcp(b, 1, 2, PKT_TCP_SYN, 0);
    b_finish(b);
    b->b[34 + 12] = 0x60; /* 24 bytes, datagram holds 20 */
}

static void tcp_doff_past_buffer(struct bld *b)
{
    tcp_doff_past_datagram(b);
    pkt_put16(b->b + 16, 20 + 24); /* the datagram says 24, the capture has 20 */
}

static void udp_len7(struct bld *b)
{
    ipv4_udp_base(b);
    pkt_put16(b->b + 34 + 4, 7);
}

static void udp_len_past_datagram(struct bld *b)
{
    ipv4_udp_base(b);
    pkt_put16(b->b + 34 + 4, 17);
}

static void ipv4_udp_padded(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV4);
    b_ipv4(b, PKT_IPPROTO_UDP, 0, NULL, 0);
    b_udp(b, 1, 2);
    b_finish(b);
    while (b->n < 60)
        b_u8(b, 0); /* Ethernet minimum-size padding */
}

static void ipv6_version4(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV6);
    b_ipv6(b, PKT_IPPROTO_NONE);
    b_finish(b);
    b->b[14] = 0x4a;
}

static void ipv6_no_next_header(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV6);
    b_ipv6(b, PKT_IPPROTO_NONE);
    b_finish(b);
}

static void ipv6_jumbogram(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV6);
    b_ipv6(b, PKT_IPPROTO_HOPOPTS);
    b_ext(b, PKT_IPPROTO_HOPOPTS, PKT_IPPROTO_NONE, 8);
    b_finish(b);
    pkt_put16(b->b + 18, 0);
}

static void ipv6_hbh_second(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV6);
    b_ipv6(b, PKT_IPPROTO_DSTOPTS);
    b_ext(b, PKT_IPPROTO_DSTOPTS, PKT_IPPROTO_HOPOPTS, 8);
    b_ext(b, PKT_IPPROTO_HOPOPTS, PKT_IPPROTO_NONE, 8);
    b_finish(b);
}

static void ipv6_two_fragment_headers(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV6);
    b_ipv6(b, PKT_IPPROTO_FRAGMENT);
    b_frag6(b, PKT_IPPROTO_FRAGMENT, 0);
    b_frag6(b, PKT_IPPROTO_NONE, 0);
    b_finish(b);
}

static void ipv6_bad_padn(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV6);
    b_ipv6(b, PKT_IPPROTO_HOPOPTS);
    b_ext(b, PKT_IPPROTO_HOPOPTS, PKT_IPPROTO_NONE, 8);
    b_finish(b);
    b->b[54 + 3] = 5; /* PadN data runs one byte past the header */
}

static void ipv6_too_many_ext(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV6);
    b_ipv6(b, PKT_IPPROTO_DSTOPTS);
    for (int i = 0; i < PKT_IPV6_MAX_EXT; i++)
        b_ext(b, PKT_IPPROTO_DSTOPTS, PKT_IPPROTO_DSTOPTS, 8);
    b_ext(b, PKT_IPPROTO_DSTOPTS, PKT_IPPROTO_NONE, 8);
    b_finish(b);
}

static void ipv6_frag_not_multiple_of_8(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV6);
    b_ipv6(b, PKT_IPPROTO_FRAGMENT);
    b_frag6(b, PKT_IPPROTO_UDP, PKT_IPV6_FRAG_MORE);
    b_udp(b, 1, 2);
    b_payload(b, 3);
    b_finish(b);
}

static void ipv6_ah_too_short(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV6);
    b_ipv6(b, PKT_IPPROTO_AH);
    b_ext(b, PKT_IPPROTO_AH, PKT_IPPROTO_NONE, 12);
    b_finish(b);
    b->b[54 + 1] = 0; /* 8 bytes: no room for the sequence number */
}

static void ipv6_icmpv4_inside(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV6);
    b_ipv6(b, PKT_IPPROTO_ICMP);
    b_payload(b, 8);
    b_finish(b);
}

static void nd_option_len0(struct bld *b)
{
    nd_ns_sll(b);
    b->b[b->n - 16 + 1] = 0;
}

static void nd_option_past_end(struct bld *b)
{
    nd_ns_sll(b);
    b->b[b->n - 8 + 1] = 2;
}

static void nd_duplicate_sll(struct bld *b)
{
    nd_ns_sll(b);
    b->b[b->n - 16] = PKT_ND_OPT_SLL; /* the nonce becomes a second SLL */
}

static void nd_code1(struct bld *b)
{
    nd_ns_sll(b);
    b->b[54 + 1] = 1;
}

static void nd_target_past_datagram(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV6);
    b_ipv6(b, PKT_IPPROTO_ICMPV6);
    b_icmp(b, PKT_ICMP6_ND_NA, 0, 0);
    b_payload(b, 8);
    b_finish(b);
}

static void third_vlan_tag(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_VLAN);
    b_tag(b, 1, PKT_ETH_TYPE_VLAN);
    b_tag(b, 2, PKT_ETH_TYPE_VLAN);
    b_tag(b, 3, PKT_ETH_TYPE_IPV4);
    b_ipv4(b, PKT_IPPROTO_UDP, 0, NULL, 0);
    b_udp(b, 1, 2);
    b_finish(b);
}

static void arp_non_ethernet(struct bld *b)
{
    arp_request(b);
    b->b[14 + 1] = 6; /* IEEE 802 hardware */
}

static void llc_not_snap(struct bld *b)
{
    b_eth(b, 0x0026);
    b_u8(b, 0x42); /* STP BPDU */
    b_u8(b, 0x42);
    b_u8(b, 0x03);
    b_payload(b, 35);
}

static void llc_cut(struct bld *b)
{
    b_eth(b, 0x0026);
    b_u8(b, 0x42);
}

static void vlan_cut(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_VLAN);
    b_u16(b, 100);
    b_u8(b, 0x08);
}

static const struct odd_case odd_cases[] = {
    {"empty", NULL, PKT_TRUNCATED, PKT_LAYER_ETH, 0},
    {"vlan-cut", vlan_cut, PKT_TRUNCATED, PKT_LAYER_VLAN, PKT_HAS_ETH},
    {"llc-cut", llc_cut, PKT_TRUNCATED, PKT_LAYER_ETH, PKT_HAS_ETH},
    {"ipv4-version-5", ipv4_version5, PKT_MALFORMED, PKT_LAYER_IPV4, PKT_HAS_ETH},
    {"ipv4-ihl-4", ipv4_ihl4, PKT_MALFORMED, PKT_LAYER_IPV4, PKT_HAS_ETH},
    {"ipv4-total-length-below-ihl", ipv4_totlen_short, PKT_MALFORMED, PKT_LAYER_IPV4, PKT_HAS_ETH},
    {"ipv4-option-length-1", ipv4_bad_option_len, PKT_MALFORMED, PKT_LAYER_IPV4, PKT_HAS_ETH},
    {"ipv4-option-overruns", ipv4_option_overruns, PKT_MALFORMED, PKT_LAYER_IPV4, PKT_HAS_ETH},
    {"ipv4-ping-of-death", ipv4_ping_of_death, PKT_MALFORMED, PKT_LAYER_IPV4, PKT_HAS_ETH},
    {"ipv4-total-length-hides-udp", ipv4_totlen_hides_udp, PKT_MALFORMED, PKT_LAYER_UDP,
     PKT_HAS_ETH | PKT_HAS_IPV4},
    {"ipv4-tiny-first-fragment", ipv4_tiny_first_fragment, PKT_MALFORMED, PKT_LAYER_TCP,
     PKT_HAS_ETH | PKT_HAS_IPV4},
    {"tcp-data-offset-4", tcp_doff4, PKT_MALFORMED, PKT_LAYER_TCP, PKT_HAS_ETH | PKT_HAS_IPV4},
    {"tcp-options-past-datagram", tcp_doff_past_datagram, PKT_MALFORMED, PKT_LAYER_TCP,
     PKT_HAS_ETH | PKT_HAS_IPV4},
    {"tcp-options-past-buffer", tcp_doff_past_buffer, PKT_TRUNCATED, PKT_LAYER_TCP,
     PKT_HAS_ETH | PKT_HAS_IPV4},
    {"udp-length-7", udp_len7, PKT_MALFORMED, PKT_LAYER_UDP, PKT_HAS_ETH | PKT_HAS_IPV4},
    {"udp-length-past-datagram", udp_len_past_datagram, PKT_MALFORMED, PKT_LAYER_UDP,
     PKT_HAS_ETH | PKT_HAS_IPV4},
    {"ipv4-ethernet-padding", ipv4_udp_padded, PKT_OK, PKT_LAYER_NONE,
     PKT_HAS_ETH | PKT_HAS_IPV4 | PKT_HAS_UDP},
    {"ipv6-version-4", ipv6_version4, PKT_MALFORMED, PKT_LAYER_IPV6, PKT_HAS_ETH},
    {"ipv6-no-next-header", ipv6_no_next_header, PKT_OK, PKT_LAYER_NONE,
     PKT_HAS_ETH | PKT_HAS_IPV6},
    {"ipv6-jumbogram", ipv6_jumbogram, PKT_UNSUPPORTED, PKT_LAYER_IPV6, PKT_HAS_ETH},
    {"ipv6-hop-by-hop-second", ipv6_hbh_second, PKT_MALFORMED, PKT_LAYER_IPV6_EXT,
     PKT_HAS_ETH | PKT_HAS_IPV6 | PKT_HAS_IP_OPTIONS},
    {"ipv6-two-fragment-headers", ipv6_two_fragment_headers, PKT_MALFORMED, PKT_LAYER_IPV6_EXT,
     PKT_HAS_ETH | PKT_HAS_IPV6 | PKT_HAS_IP_OPTIONS},
    {"ipv6-padn-overruns", ipv6_bad_padn, PKT_MALFORMED, PKT_LAYER_IPV6_EXT,
     PKT_HAS_ETH | PKT_HAS_IPV6},
    {"ipv6-too-many-extension-headers", ipv6_too_many_ext, PKT_UNSUPPORTED, PKT_LAYER_IPV6_EXT,
     PKT_HAS_ETH | PKT_HAS_IPV6 | PKT_HAS_IP_OPTIONS},
    {"ipv6-fragment-not-multiple-of-8", ipv6_frag_not_multiple_of_8, PKT_MALFORMED,
     PKT_LAYER_IPV6_EXT, PKT_HAS_ETH | PKT_HAS_IPV6},
    {"ipv6-ah-too-short", ipv6_ah_too_short, PKT_MALFORMED, PKT_LAYER_IPV6_EXT,
     PKT_HAS_ETH | PKT_HAS_IPV6},
    {"ipv6-carries-icmpv4", ipv6_icmpv4_inside, PKT_OK, PKT_LAYER_NONE,
     PKT_HAS_ETH | PKT_HAS_IPV6},
    {"nd-option-length-0", nd_option_len0, PKT_MALFORMED, PKT_LAYER_ND,
     PKT_HAS_ETH | PKT_HAS_IPV6 | PKT_HAS_ICMPV6},
    {"nd-option-past-end", nd_option_past_end, PKT_MALFORMED, PKT_LAYER_ND,
     PKT_HAS_ETH | PKT_HAS_IPV6 | PKT_HAS_ICMPV6},
    {"nd-duplicate-sll", nd_duplicate_sll, PKT_MALFORMED, PKT_LAYER_ND,
     PKT_HAS_ETH | PKT_HAS_IPV6 | PKT_HAS_ICMPV6},
    {"nd-code-1-not-nd", nd_code1, PKT_OK, PKT_LAYER_NONE,
     PKT_HAS_ETH | PKT_HAS_IPV6 | PKT_HAS_ICMPV6},
    {"nd-target-past-datagram", nd_target_past_datagram, PKT_MALFORMED, PKT_LAYER_ND,
     PKT_HAS_ETH | PKT_HAS_IPV6 | PKT_HAS_ICMPV6},
    {"third-vlan-tag", third_vlan_tag, PKT_OK, PKT_LAYER_NONE, PKT_HAS_ETH | PKT_HAS_VLAN},
    {"arp-non-ethernet", arp_non_ethernet, PKT_OK, PKT_LAYER_NONE, PKT_HAS_ETH},
    {"llc-not-snap", llc_not_snap, PKT_OK, PKT_LAYER_NONE, PKT_HAS_ETH},
};

static void test_odd_frames(void **state)
{
    for (size_t i = 0; i < KK_ARRAY_SIZE(odd_cases); i++) {
        const struct odd_case *c = &odd_cases[i];
        struct bld b;
        b_init(&b);
        if (c->build)
            c->build(&b);
        struct pkt_flow f;
        struct pkt_layout lay;
        enum pkt_status st = parse_copy(b.b, b.n, &f, &lay);
        char desc[64];
        if (st != c->status || lay.err_layer != c->layer || f.layers != c->layers)
            fail_msg("%s: got %s (layers %#x), want %s in %s (layers %#x)", c->name,
                     pkt_layout_describe(&lay, desc, sizeof(desc)), f.layers,
                     pkt_status_name(c->status), pkt_layer_name(c->layer), c->layers);
    }
}

/* Details of some odd frames beyond their status. */
static void test_odd_frame_fields(void **state)
{
    struct bld b;
    struct pkt_flow f;
    struct pkt_layout lay;

    /* A third tag's TPID is the EtherType; the first two are kept. */
    b_init(&b);
    third_vlan_tag(&b);
    parse_copy(b.b, b.n, &f, &lay);
    assert_int_equal(f.dl_type, PKT_ETH_TYPE_VLAN);
    assert_int_equal(f.n_vlans, 2);
    assert_int_equal(f.vlans[0].vid, 1);
    assert_int_equal(f.vlans[1].vid, 2);
    assert_int_equal(lay.l3_ofs, 22);
    assert_int_equal(lay.l3, PKT_LAYER_NONE);

    /* Raw 802.3 has no EtherType. */
    b_init(&b);
    llc_not_snap(&b);
    parse_copy(b.b, b.n, &f, &lay);
    assert_int_equal(f.dl_type, PKT_DL_TYPE_NONE);

    /* Padding after the datagram is not payload. */
    b_init(&b);
    ipv4_udp_padded(&b);
    parse_copy(b.b, b.n, &f, &lay);
    assert_int_equal(lay.ip_end, 14 + 28);
    assert_int_equal(lay.payload_ofs, 14 + 28);
    assert_int_equal(b.n, 60);

    /* ND with code 1 is just ICMPv6: no target. */
    b_init(&b);
    nd_code1(&b);
    parse_copy(b.b, b.n, &f, &lay);
    static const uint8_t zero16[16];
    assert_memory_equal(f.nd_target, zero16, 16);
    assert_int_equal(f.icmp_code, 1);

    /* A failed extension header is named by nw_proto. */
    b_init(&b);
    ipv6_hbh_second(&b);
    parse_copy(b.b, b.n, &f, &lay);
    assert_int_equal(f.nw_proto, PKT_IPPROTO_HOPOPTS);

    /* Duplicate options leave no partial ND fields behind. */
    b_init(&b);
    nd_duplicate_sll(&b);
    parse_copy(b.b, b.n, &f, &lay);
    static const uint8_t zero6[6];
    assert_memory_equal(f.nd_sll, zero6, 6);
    assert_memory_equal(f.nd_target, zero16, 16);

    /* NA carrying an SLL, NS carrying a TLL: options of the other message. */
    b_init(&b);
    nd_ns_sll(&b);
    b.b[b.n - 8] = PKT_ND_OPT_TLL;
    parse_copy(b.b, b.n, &f, &lay);
    assert_int_equal(lay.status, PKT_OK);
    assert_memory_equal(f.nd_sll, zero6, 6);
    assert_memory_equal(f.nd_tll, zero6, 6);
    assert_memory_equal(f.nd_target, ND_TARGET, 16);
}

static void test_names(void **state)
{
    assert_string_equal(pkt_status_name(PKT_OK), "ok");
    assert_string_equal(pkt_status_name(PKT_TRUNCATED), "truncated");
    assert_string_equal(pkt_status_name(PKT_MALFORMED), "malformed");
    assert_string_equal(pkt_status_name(PKT_UNSUPPORTED), "unsupported");
    assert_string_equal(pkt_status_name((enum pkt_status)99), "unknown");
    assert_string_equal(pkt_layer_name(PKT_LAYER_IPV6_EXT), "ipv6-ext");
    assert_string_equal(pkt_layer_name(PKT_LAYER_PAYLOAD), "payload");
    assert_string_equal(pkt_layer_name((enum pkt_layer)99), "unknown");
    struct pkt_layout lay = {.status = PKT_TRUNCATED, .err_layer = PKT_LAYER_TCP};
    char buf[32];
    assert_string_equal(pkt_layout_describe(&lay, buf, sizeof(buf)), "truncated in tcp");
    assert_string_equal(pkt_layout_describe(&lay, buf, 6), "trunc");
    lay = (struct pkt_layout){.status = PKT_OK};
    assert_string_equal(pkt_layout_describe(&lay, buf, sizeof(buf)), "ok");
}

/* ---- Valid frames, whole and cut ---- */

static void check_full(const struct valid_case *c, const struct bld *b, struct pkt_flow *f,
                       struct pkt_layout *lay)
{
    enum pkt_status st = parse_copy(b->b, b->n, f, lay);
    char desc[64];
    if (st != PKT_OK)
        fail_msg("%s: %s", c->name, pkt_layout_describe(lay, desc, sizeof(desc)));
    assert_flow_equal(f, &c->expect);
    assert_int_equal(lay->l3, c->l3);
    assert_int_equal(lay->l4, c->l4);
    assert_int_equal(lay->vlan_ofs, c->expect.n_vlans ? 12 : PKT_OFS_NONE);
    assert_int_equal(lay->ipv6_frag_ofs, b->frag6 ? b->frag6 : PKT_OFS_NONE);
    if (c->l3 != PKT_LAYER_NONE)
        assert_int_equal(lay->l3_ofs, b->l3);
    else
        assert_int_equal(lay->l3_ofs, 14 + 4 * c->expect.n_vlans);
    if (c->l3 == PKT_LAYER_ARP)
        assert_int_equal(lay->payload_ofs, b->payload);
    if (b->ip) {
        assert_int_equal(lay->l3_ofs, b->l3);
        assert_int_equal(lay->l4_ofs, b->l4);
        assert_int_equal(lay->ip_end, b->n);
        assert_int_equal(lay->payload_ofs, b->payload);
        assert_int_equal(lay->nw_frag, c->expect.nw_frag);
    } else {
        assert_int_equal(lay->l4_ofs, PKT_OFS_NONE);
        assert_int_equal(lay->ip_end, PKT_OFS_NONE);
    }
}

/* Every field of @cut is zero or equal to the full parse (dl_type and
 * nw_proto excepted: they name what stopped the parse; layers and n_vlans
 * are counts and sets, checked on their own). */
static void assert_flow_prefix(const struct pkt_flow *cut, const struct pkt_flow *full)
{
    struct pkt_flow a = *cut, b = *full;
    assert_true(cut->n_vlans <= full->n_vlans);
    a.dl_type = b.dl_type = 0;
    a.nw_proto = b.nw_proto = 0;
    a.layers = b.layers = 0; /* compared as sets by the caller */
    a.n_vlans = b.n_vlans = 0;
    const uint8_t *pa = (const uint8_t *)&a, *pb = (const uint8_t *)&b;
    for (size_t i = 0; i < sizeof(a); i++)
        if (pa[i] != 0 && pa[i] != pb[i])
            fail_msg("flow byte %zu is %#x, full parse has %#x", i, pa[i], pb[i]);
}

/* Parse @b cut at @cut and check what the builder's marks predict: the
 * first header not wholly inside the cut is the one blamed. */
static void check_cut(const char *name, const struct bld *b, uint32_t cut,
                      const struct pkt_flow *full, const struct pkt_layout *full_lay)
{
    enum pkt_status want = PKT_OK;
    enum pkt_layer layer = PKT_LAYER_NONE;
    uint32_t has = 0;
    for (unsigned m = 0; m < b->n_marks; m++) {
        if (b->marks[m].end > cut) {
            want = PKT_TRUNCATED;
            layer = (enum pkt_layer)b->marks[m].layer;
            break;
        }
        has |= b->marks[m].has;
    }
    struct pkt_flow f;
    struct pkt_layout lay;
    enum pkt_status st = parse_copy(b->b, cut, &f, &lay);
    if (st != want || lay.err_layer != layer || f.layers != has)
        fail_msg("%s cut at %u: got %s in %s (layers %#x), want %s in %s (%#x)", name, cut,
                 pkt_status_name(st), pkt_layer_name((enum pkt_layer)lay.err_layer), f.layers,
                 pkt_status_name(want), pkt_layer_name(layer), has);
    assert_flow_prefix(&f, full);
    if (cut >= full_lay->l3_ofs)
        assert_int_equal(f.dl_type, full->dl_type);
    if (full_lay->l4_ofs != PKT_OFS_NONE && cut >= full_lay->l4_ofs)
        assert_int_equal(f.nw_proto, full->nw_proto);
}

static void test_valid_frames(void **state)
{
    unsigned cuts = 0;
    for (size_t i = 0; i < KK_ARRAY_SIZE(valid_cases); i++) {
        const struct valid_case *c = &valid_cases[i];
        struct bld b;
        b_init(&b);
        c->build(&b);
        struct pkt_flow full;
        struct pkt_layout full_lay;
        check_full(c, &b, &full, &full_lay);
        for (uint32_t cut = 0; cut < b.n; cut++, cuts++)
            check_cut(c->name, &b, cut, &full, &full_lay);
    }
    printf("# %zu frames, %u truncations\n", KK_ARRAY_SIZE(valid_cases), cuts);
}

/*
 * Random valid frames from random parameters (tags, IPv4 options and
 * fragments, IPv6 extension chains and fragments, each L4 kind, sizes,
 * addresses): the flow must be exactly what the parameters say, and random
 * cuts must match the builder's marks.
 */
static void test_random_valid_frames(void **state)
{
    uint64_t rng = 0xf10;
    unsigned cuts = 0;
    for (int iter = 0; iter < 5000; iter++) {
        struct bld b;
        b_init(&b);
        struct pkt_flow e = {.in_port = IN_PORT, .layers = PKT_HAS_ETH};
        memcpy(e.dl_dst, B_DST, 6);
        memcpy(e.dl_src, B_SRC, 6);
        bool v6 = kk_test_rand(&rng) & 1;
        uint16_t l3_type = v6 ? PKT_ETH_TYPE_IPV6 : PKT_ETH_TYPE_IPV4;
        e.dl_type = l3_type;

        /* L2: zero to two tags. */
        e.n_vlans = (uint8_t)(kk_test_rand(&rng) % 3);
        uint16_t tpid[2], tci[2];
        for (int t = 0; t < e.n_vlans; t++) {
            tpid[t] = kk_test_rand(&rng) & 1 ? PKT_ETH_TYPE_QINQ : PKT_ETH_TYPE_VLAN;
            tci[t] = (uint16_t)kk_test_rand(&rng);
            e.vlans[t] = (struct pkt_vlan){tpid[t], tci[t] & 0xfff, (uint8_t)(tci[t] >> 13),
                                           (uint8_t)(tci[t] >> 12 & 1)};
            e.layers |= PKT_HAS_VLAN;
        }
        b_eth(&b, e.n_vlans ? tpid[0] : l3_type);
        for (int t = 0; t < e.n_vlans; t++)
            b_tag(&b, tci[t], t + 1 < e.n_vlans ? tpid[t + 1] : l3_type);

        /* L4 choice first: the IP header names it. */
        static const uint8_t l4s[] = {PKT_IPPROTO_TCP, PKT_IPPROTO_UDP, PKT_IPPROTO_SCTP,
                                      PKT_IPPROTO_ICMP, 253};
        uint8_t l4 = l4s[kk_test_rand(&rng) % KK_ARRAY_SIZE(l4s)];
        if (v6 && l4 == PKT_IPPROTO_ICMP)
            l4 = PKT_IPPROTO_ICMPV6;
        enum pkt_frag frag = (enum pkt_frag)(kk_test_rand(&rng) % 4 == 0 ? 1 + kk_test_rand(&rng) % 2
                                                                           : 0);
        uint32_t frag6_payload_start = 0;
        if (!v6) {
            uint8_t opt[40];
            size_t opt_len = 4 * (kk_test_rand(&rng) % 11);
            memset(opt, PKT_IPV4_OPT_NOP, opt_len);
            if (opt_len >= 4) {
                opt[0] = 0x94; /* router alert */
                opt[1] = 4;
                opt[2] = opt[3] = 0;
            }
            uint16_t fo = frag == PKT_FRAG_FIRST   ? PKT_IPV4_MF
                          : frag == PKT_FRAG_LATER ? (uint16_t)(1 + kk_test_rand(&rng) % 1000)
                                                   : 0;
            if (kk_test_rand(&rng) & 1)
                fo |= PKT_IPV4_DF * (frag == PKT_FRAG_NONE);
            b_ipv4(&b, l4, fo, opt, opt_len);
            e.layers |= PKT_HAS_IPV4 | (opt_len ? PKT_HAS_IP_OPTIONS : 0);
        } else {
            static const uint8_t exts[] = {PKT_IPPROTO_ROUTING, PKT_IPPROTO_DSTOPTS,
                                           PKT_IPPROTO_AH};
            uint8_t chain[6];
            unsigned n = 0;
            if (kk_test_rand(&rng) & 1)
                chain[n++] = PKT_IPPROTO_HOPOPTS;
            for (unsigned k = kk_test_rand(&rng) % 3; k > 0; k--)
                chain[n++] = exts[kk_test_rand(&rng) % KK_ARRAY_SIZE(exts)];
            bool frag_hdr = frag != PKT_FRAG_NONE || kk_test_rand(&rng) % 4 == 0;
            if (frag_hdr)
                chain[n++] = PKT_IPPROTO_FRAGMENT;
            b_ipv6(&b, n ? chain[0] : l4);
            for (unsigned k = 0; k < n; k++) {
                uint8_t next = k + 1 < n ? chain[k + 1] : l4;
                if (chain[k] == PKT_IPPROTO_FRAGMENT) {
                    uint16_t of = frag == PKT_FRAG_FIRST   ? PKT_IPV6_FRAG_MORE
                                  : frag == PKT_FRAG_LATER ? (uint16_t)((1 + kk_test_rand(&rng) % 999)
                                                                        << 3)
                                                           : 0;
                    b_frag6(&b, next, of);
                    frag6_payload_start = b.n;
                } else {
                    uint32_t len = chain[k] == PKT_IPPROTO_AH ? 4 * (3 + kk_test_rand(&rng) % 6)
                                                              : 8 * (1 + kk_test_rand(&rng) % 4);
                    if (chain[k] == PKT_IPPROTO_AH && len % 8)
                        len += 4;
                    b_ext(&b, chain[k], next, len);
                }
            }
            e.layers |= PKT_HAS_IPV6 | (n ? PKT_HAS_IP_OPTIONS : 0);
        }
        e.nw_proto = l4;
        e.nw_frag = (uint8_t)frag;

        /* L4, unless a later fragment. */
        if (frag != PKT_FRAG_LATER) {
            uint16_t sp = (uint16_t)kk_test_rand(&rng), dp = (uint16_t)kk_test_rand(&rng);
            switch (l4) {
            case PKT_IPPROTO_TCP: {
                uint16_t flags = (uint16_t)(kk_test_rand(&rng) & 0x1ff);
                b_tcp(&b, sp, dp, flags, 4 * (uint32_t)(kk_test_rand(&rng) % 11));
                e.tp_src = sp;
                e.tp_dst = dp;
                e.tcp_flags = flags;
                e.layers |= PKT_HAS_TCP;
                break;
            }
            case PKT_IPPROTO_UDP:
                b_udp(&b, sp, dp);
                e.tp_src = sp;
                e.tp_dst = dp;
                e.layers |= PKT_HAS_UDP;
                break;
            case PKT_IPPROTO_SCTP:
                b_sctp(&b, sp, dp);
                e.tp_src = sp;
                e.tp_dst = dp;
                e.layers |= PKT_HAS_SCTP;
                break;
            case PKT_IPPROTO_ICMP:
            case PKT_IPPROTO_ICMPV6:
                /* Not NS/NA: those have their own cases. */
                e.icmp_type = (uint8_t)(sp % 134);
                e.icmp_code = (uint8_t)dp;
                b_icmp(&b, e.icmp_type, e.icmp_code, 0);
                e.layers |= v6 ? PKT_HAS_ICMPV6 : PKT_HAS_ICMP;
                break;
            default:
                break;
            }
        }
        b_payload(&b, (uint32_t)(kk_test_rand(&rng) % 64));
        /* A non-final IPv6 fragment is a multiple of 8 bytes. */
        if (v6 && frag == PKT_FRAG_FIRST)
            while ((b.n - frag6_payload_start) % 8)
                b_payload(&b, 1);

        /* Addresses, TOS, TTL, flow label. */
        uint8_t *ip = b.b + b.l3;
        for (int i = v6 ? 8 : 12; i < (v6 ? 40 : 20); i++)
            ip[i] = (uint8_t)kk_test_rand(&rng);
        uint8_t tos = (uint8_t)kk_test_rand(&rng), ttl = (uint8_t)kk_test_rand(&rng);
        if (v6) {
            uint32_t label = (uint32_t)kk_test_rand(&rng) & 0xfffff;
            pkt_put32(ip, 6u << 28 | (uint32_t)tos << 20 | label);
            ip[7] = ttl;
            memcpy(e.ipv6_src, ip + 8, 16);
            memcpy(e.ipv6_dst, ip + 24, 16);
            e.ipv6_label = label;
        } else {
            ip[1] = tos;
            ip[8] = ttl;
            e.nw_src = pkt_get32(ip + 12);
            e.nw_dst = pkt_get32(ip + 16);
        }
        e.nw_tos = tos;
        e.nw_dscp = tos >> 2;
        e.nw_ecn = tos & 3;
        e.nw_ttl = ttl;
        b_finish(&b);

        char name[32];
        snprintf(name, sizeof(name), "random frame %d", iter);
        struct pkt_flow f;
        struct pkt_layout lay;
        enum pkt_status st = parse_copy(b.b, b.n, &f, &lay);
        char desc[64];
        if (st != PKT_OK)
            fail_msg("%s: %s", name, pkt_layout_describe(&lay, desc, sizeof(desc)));
        assert_flow_equal(&f, &e);
        assert_int_equal(lay.l4_ofs, b.l4);
        assert_int_equal(lay.ip_end, b.n);
        for (int k = 0; k < 4; k++, cuts++)
            check_cut(name, &b, (uint32_t)(kk_test_rand(&rng) % b.n), &f, &lay);
    }
    printf("# 5000 random frames, %u truncations\n", cuts);
}

/* Random bytes behind a valid Ethernet/IP header: whatever the parser says
 * must be consistent, and the same as a parse of a longer buffer would give
 * for every header it completed. */
static void test_random_tails(void **state)
{
    uint64_t rng = 0x5eed;
    static const uint16_t types[] = {PKT_ETH_TYPE_IPV4, PKT_ETH_TYPE_IPV6, PKT_ETH_TYPE_ARP,
                                     PKT_ETH_TYPE_VLAN, PKT_ETH_TYPE_QINQ, 0x0040};
    unsigned ok = 0;
    for (int iter = 0; iter < 20000; iter++) {
        uint8_t buf[160];
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = (uint8_t)kk_test_rand(&rng);
        uint16_t type = types[kk_test_rand(&rng) % KK_ARRAY_SIZE(types)];
        pkt_put16(buf + 12, type);
        if (type == PKT_ETH_TYPE_IPV4) {
            buf[14] = (uint8_t)(0x45 + (kk_test_rand(&rng) % 3));
            pkt_put16(buf + 16, (uint16_t)(20 + kk_test_rand(&rng) % 140));
            pkt_put16(buf + 20, (uint16_t)(kk_test_rand(&rng) & 0x2000));
            static const uint8_t protos[] = {1, 6, 17, 132};
            buf[23] = protos[kk_test_rand(&rng) % 4];
        } else if (type == PKT_ETH_TYPE_IPV6) {
            buf[14] = 0x60;
            pkt_put16(buf + 18, (uint16_t)(kk_test_rand(&rng) % 140));
            static const uint8_t nexts[] = {0, 6, 17, 43, 44, 51, 58, 60, 132};
            buf[20] = nexts[kk_test_rand(&rng) % KK_ARRAY_SIZE(nexts)];
        }
        size_t len = kk_test_rand(&rng) % sizeof(buf);
        struct pkt_flow f, f2;
        struct pkt_layout lay, lay2;
        enum pkt_status st = parse_copy(buf, len, &f, &lay);
        ok += st == PKT_OK;
        /* A longer buffer never turns a malformed header into a valid one,
         * and a complete parse does not change when more bytes follow
         * the datagram. */
        parse_copy(buf, sizeof(buf), &f2, &lay2);
        if ((st == PKT_MALFORMED || st == PKT_UNSUPPORTED) &&
            (lay2.status != st || lay2.err_layer != lay.err_layer))
            fail_msg("iter %d len %zu: %s in %s, then %s in %s", iter, len, pkt_status_name(st),
                     pkt_layer_name((enum pkt_layer)lay.err_layer),
                     pkt_status_name((enum pkt_status)lay2.status),
                     pkt_layer_name((enum pkt_layer)lay2.err_layer));
        if (st == PKT_OK && lay.ip_end != PKT_OFS_NONE) {
            assert_int_equal(lay2.status, PKT_OK);
            assert_memory_equal(&f, &f2, sizeof(f));
        }
        if (st == PKT_TRUNCATED)
            assert_true((f.layers & f2.layers) == f.layers);
    }
    printf("# %u of 20000 random frames parsed ok\n", ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_odd_frames),
        cmocka_unit_test(test_odd_frame_fields),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_valid_frames),
        cmocka_unit_test(test_random_valid_frames),
        cmocka_unit_test(test_random_tails),
    };
    return cmocka_run_group_tests_name("pkt_parse", tests, NULL, NULL);
}
