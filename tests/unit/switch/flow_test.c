/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Flow keys: text that must be refused first, then extraction from one
 * frame of every protocol lib/pkt/proto parses (checked field by field
 * against an expected text form, and cut at every byte from an exact-size
 * heap copy so ASan catches any read past the end), canonical formatting,
 * random format/parse round trips, masked hashing.
 */
#include <errno.h>

#include "flow.h"
#include "kk_common.h"
#include "kk_test.h"
#include "pkt_build.h"

#define IN_PORT 7

/* ---- refused text ---- */

static void test_parse_refuses_bad_text(void **state)
{
    static const char *const bad[] = {
        "nosuchfield=1",
        "in_port",
        "in_port=",
        "in_port=-1",
        "in_port=4294967296",
        "in_port=1,,tcp",
        "tp_dst=65536",
        "tp_dst=80/0x10000",
        "dl_type=0x800x",
        "dl_src=00:11:22:33:44",
        "dl_src=00:11:22:33:44:55:66",
        "dl_src=00:11:22:33:44:gg",
        "dl_dst=00:11:22:33:44:55/ff:ff",
        "nw_src=10.0.0.256",
        "nw_src=10.0.0.1/33",
        "nw_src=10.0.0.1/255.255.0.x",
        "nw_dst=::1",
        "ipv6_src=10.0.0.1",
        "ipv6_src=::1/129",
        "ipv6_label=0x100000",
        "ip_frag=maybe",
        "dl_vlan=4096",
        "dl_vlan_pcp=8",
        "ip_dscp=64",
        "nw_ecn=4",
        "tcp_flags=+syn+bogus",
        "tcp_flags=syn",
        "tcp_flags=+syn/0x2",
        "tcp_flags=0x1000",
        "nw_frag=4",
        "ipx",
    };
    struct sw_flow_key k;
    struct sw_flow_mask m;
    char err[128];
    for (size_t i = 0; i < KK_ARRAY_SIZE(bad); i++) {
        int rc = sw_flow_parse(bad[i], &k, &m, err, sizeof(err));
        if (rc != -EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
        assert_true(strlen(err) > 0);
    }
    assert_int_equal(sw_flow_parse(NULL, &k, &m, NULL, 0), -EINVAL);
    char *huge = malloc(5000);
    assert_non_null(huge);
    memset(huge, 'a', 4999);
    huge[4999] = '\0';
    assert_int_equal(sw_flow_parse(huge, &k, &m, err, 8), -EINVAL);
    assert_true(strlen(err) == 7);
    free(huge);
    /* The empty text is the catch-all. */
    assert_int_equal(sw_flow_parse("", &k, &m, NULL, 0), 0);
    assert_true(sw_flow_mask_is_catchall(&m));
}

/* ---- extraction ---- */

static const uint8_t ND_TARGET[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42};
static const uint8_t MAC_OPT[6] = {0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};

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
    static const uint8_t opt[8] = {0x94, 0x04, 0x00, 0x00, 1, 1, 1, 0};
    b_eth(b, PKT_ETH_TYPE_IPV4);
    b_ipv4(b, PKT_IPPROTO_UDP, 0, opt, sizeof(opt));
    b_udp(b, 53, 33000);
    b_payload(b, 7);
    b_finish(b);
}

static void ipv4_udp(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV4);
    b_ipv4(b, PKT_IPPROTO_UDP, PKT_IPV4_DF, NULL, 0);
    b_udp(b, 10000, 5001);
    b_payload(b, 18);
    b_finish(b);
}

static void vlan_ipv4_tcp(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_VLAN);
    b_tag(b, 3 << 13 | PKT_VLAN_DEI | 0x123, PKT_ETH_TYPE_IPV4); /* DEI is not kept */
    b_ipv4(b, PKT_IPPROTO_TCP, 0, NULL, 0);
    b_tcp(b, 1234, 22, PKT_TCP_ACK | PKT_TCP_PSH, 0);
    b_payload(b, 5);
    b_finish(b);
}

static void ipv4_gre(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV4);
    b_ipv4(b, 47, 0, NULL, 0);
    b_payload(b, 24);
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

static void ipv4_icmp_unreachable(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV4);
    b_ipv4(b, PKT_IPPROTO_ICMP, 0, NULL, 0);
    b_icmp(b, 3, 4, 0x000005dc);
    b_payload(b, 28);
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

static void ipv6_echo(struct bld *b)
{
    b_eth(b, PKT_ETH_TYPE_IPV6);
    b_ipv6(b, PKT_IPPROTO_ICMPV6);
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
    b_finish(b);
}

struct extract_case {
    const char *name;
    void (*build)(struct bld *);
    const char *expect; /* every non-zero field of the key */
};

#define ETH "in_port=7,dl_src=02:aa:bb:cc:dd:ee,dl_dst=02:11:22:33:44:55,"
#define IP4 "nw_src=192.168.0.1,nw_dst=10.0.0.2,ip_dscp=46,nw_ecn=1,nw_ttl=64"
#define IP6                                                                      \
    "ipv6_src=2001:db8::1,ipv6_dst=fe80::1234:56ff:fe78:9abc,ipv6_label=0x12345," \
    "ip_dscp=41,nw_ecn=1,nw_ttl=255"
#define ARP_ADDRS                                                                \
    "arp_spa=192.168.0.1,arp_tpa=10.0.0.2,arp_sha=02:aa:bb:cc:dd:ee,"           \
    "arp_tha=02:11:22:33:44:55"

static const struct extract_case extract_cases[] = {
    {"eth-unknown-type", eth_unknown, ETH "dl_type=0x88b5"},
    {"llc-snap-arp", snap_arp, ETH "arp,arp_op=1," ARP_ADDRS},
    {"arp-request", arp_request, ETH "arp,arp_op=1," ARP_ADDRS},
    {"vlan-arp-reply", vlan_arp_reply,
     ETH "dl_vlan=100,dl_vlan_pcp=5,vlan_tpid=0x8100,arp,arp_op=2," ARP_ADDRS},
    {"qinq-ipv4-tcp", qinq_ipv4_tcp,
     ETH "dl_vlan=100,dl_vlan_pcp=1,vlan_tpid=0x88a8,dl_vlan2=10,dl_vlan_pcp2=7,"
         "vlan_tpid2=0x8100,tcp," IP4 ",tp_src=49152,tp_dst=80,tcp_flags=0x1c2"},
    {"ipv4-options-udp", ipv4_options_udp, ETH "udp," IP4 ",tp_src=53,tp_dst=33000"},
    {"ipv4-udp", ipv4_udp, ETH "udp," IP4 ",tp_src=10000,tp_dst=5001"},
    {"vlan-ipv4-tcp", vlan_ipv4_tcp,
     ETH "dl_vlan=291,dl_vlan_pcp=3,vlan_tpid=0x8100,tcp," IP4 ",tp_src=1234,tp_dst=22,"
         "tcp_flags=+ack+psh"},
    {"ipv4-gre", ipv4_gre, ETH "ip,nw_proto=47," IP4},
    {"ipv4-icmp-echo", ipv4_icmp_echo, ETH "icmp," IP4 ",icmp_type=8"},
    {"ipv4-icmp-unreachable", ipv4_icmp_unreachable,
     ETH "icmp," IP4 ",icmp_type=3,icmp_code=4"},
    {"ipv4-sctp", ipv4_sctp, ETH "sctp," IP4 ",tp_src=2905,tp_dst=36412"},
    {"ipv4-first-fragment-tcp", ipv4_frag_first,
     ETH "tcp," IP4 ",ip_frag=first,tp_src=1000,tp_dst=2000,tcp_flags=+ack+psh"},
    {"ipv4-later-fragment", ipv4_frag_later, ETH "udp," IP4 ",ip_frag=later"},
    {"ipv6-tcp", ipv6_tcp, ETH "tcp6," IP6 ",tp_src=443,tp_dst=50000,tcp_flags=0x035"},
    {"ipv6-ext-chain-udp", ipv6_ext_chain_udp, ETH "udp6," IP6 ",tp_src=4789,tp_dst=4789"},
    {"ipv6-first-fragment-udp", ipv6_frag_first_udp,
     ETH "udp6," IP6 ",ip_frag=first,tp_src=5000,tp_dst=6000"},
    {"ipv6-later-fragment", ipv6_frag_later, ETH "tcp6," IP6 ",ip_frag=later"},
    {"ipv6-echo", ipv6_echo, ETH "icmp6," IP6 ",icmpv6_type=128"},
    {"vlan-ipv6-sctp", vlan_ipv6_sctp,
     ETH "dl_vlan=4094,vlan_tpid=0x8100,sctp6," IP6 ",tp_src=7,tp_dst=9"},
    {"nd-ns-sll", nd_ns_sll,
     ETH "icmp6," IP6 ",icmpv6_type=135,nd_target=fe80::42,nd_sll=0a:0b:0c:0d:0e:0f"},
    {"nd-na-tll", nd_na_tll,
     ETH "icmp6," IP6 ",icmpv6_type=136,nd_target=fe80::42,nd_tll=0a:0b:0c:0d:0e:0f"},
};

/* Extract from an exact-size heap copy of @len bytes. */
static enum pkt_status extract_copy(const uint8_t *data, size_t len, struct sw_flow_key *k)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, data, len);
    struct pkt_layout lay;
    enum pkt_status st = sw_flow_extract(len ? copy : NULL, len, IN_PORT, k, &lay);
    free(copy);
    assert_int_equal(st, lay.status);
    return st;
}

static void assert_key_is(const char *name, const struct sw_flow_key *k, const char *expect)
{
    struct sw_flow_key ek;
    struct sw_flow_mask em;
    char err[128];
    if (sw_flow_parse(expect, &ek, &em, err, sizeof(err)) != 0)
        fail_msg("%s: expected text does not parse: %s", name, err);
    struct sw_flow_key masked;
    sw_flow_key_mask(&masked, k, &em);
    char got[SW_FLOW_FORMAT_MAX];
    struct sw_flow_mask exact;
    sw_flow_mask_exact(&exact);
    sw_flow_format(k, &exact, got, sizeof(got));
    if (memcmp(&masked, &ek, sizeof(ek)) != 0)
        fail_msg("%s: key differs on expected fields\n got  %s\n want %s", name, got, expect);
    /* Everything the text does not mention is zero. */
    const uint64_t *kw = sw_flow_key_words(k), *mw = sw_flow_key_words(&em.masks);
    for (int i = 0; i < SW_FLOW_KEY_WORDS; i++)
        if (kw[i] & ~mw[i])
            fail_msg("%s: word %d has unexpected bits %#llx\n got %s", name, i,
                     (unsigned long long)(kw[i] & ~mw[i]), got);
}

static void test_extract_every_protocol(void **state)
{
    unsigned cuts = 0;
    for (size_t i = 0; i < KK_ARRAY_SIZE(extract_cases); i++) {
        const struct extract_case *c = &extract_cases[i];
        struct bld b;
        b_init(&b);
        c->build(&b);
        struct sw_flow_key k;
        assert_int_equal(extract_copy(b.b, b.n, &k), PKT_OK);
        assert_key_is(c->name, &k, c->expect);

        /* The exact text of the key parses back to it. */
        struct sw_flow_mask exact, m2;
        sw_flow_mask_exact(&exact);
        char text[SW_FLOW_FORMAT_MAX];
        int n = sw_flow_format(&k, &exact, text, sizeof(text));
        assert_true(n > 0 && n < (int)sizeof(text));
        struct sw_flow_key k2;
        assert_int_equal(sw_flow_parse(text, &k2, &m2, NULL, 0), 0);
        assert_memory_equal(&k2, &k, sizeof(k));
        assert_memory_equal(&m2, &exact, sizeof(exact));

        /* Every truncation: no read past the end, a key still comes out,
         * and it never holds a field the full frame does not have. */
        for (uint32_t cut = 0; cut < b.n; cut++, cuts++) {
            struct sw_flow_key t;
            enum pkt_status st = extract_copy(b.b, cut, &t);
            if (cut < PKT_ETH_HDR_LEN)
                assert_int_equal(st, PKT_TRUNCATED);
            assert_int_equal(t.in_port, IN_PORT);
            /* dl_type and nw_proto may be what the cut leaves (0x05ff for
             * 802.3 whose SNAP header is cut, a TPID whose tag is cut, the
             * next header of the last complete IPv6 extension): not
             * compared. */
            t.dl_type = 0;
            t.nw_proto = 0;
            const uint64_t *tw = sw_flow_key_words(&t), *fw = sw_flow_key_words(&k);
            for (int w = 0; w < SW_FLOW_KEY_WORDS; w++) {
                /* A cut frame's fields are the full frame's or zero,
                 * except the IP length dependent ones (none in the key)
                 * and TCP flags of a cut-off header (zero). */
                uint64_t extra = tw[w] & ~fw[w];
                if (extra)
                    fail_msg("%s cut at %u: word %d has bits %#llx the full frame lacks",
                             c->name, cut, w, (unsigned long long)extra);
            }
        }
    }
    printf("# %zu frames, %u truncations\n", KK_ARRAY_SIZE(extract_cases), cuts);
}

/* The simple fields (flow.h), all ones. */
static void simple_fields(struct sw_flow_mask *m)
{
    memset(m, 0, sizeof(*m));
    m->masks.in_port = UINT32_MAX;
    m->masks.recirc_id = UINT32_MAX;
    m->masks.dl_type = UINT16_MAX;
    m->masks.vlan_tci = UINT16_MAX;
    m->masks.vlan_tpid = UINT16_MAX;
    m->masks.vlan_tci2 = UINT16_MAX;
    m->masks.vlan_tpid2 = UINT16_MAX;
    m->masks.nw_proto = UINT8_MAX;
    m->masks.nw_frag = UINT8_MAX;
}

static unsigned simple_read; /* frames sw_flow_extract_simple() took */

/*
 * sw_flow_extract_simple() on one frame: when it takes the frame, its
 * words agree with the full key @full in every simple-field bit, and its
 * tcp_flags with the key's.
 */
static void assert_simple_agrees(const char *name, const uint8_t *data, size_t len,
                                 const struct sw_flow_key *full)
{
    struct sw_flow_simple k;
    memset(&k, 0x5a, sizeof(k));
    if (!sw_flow_extract_simple(data, len, &k))
        return;
    simple_read++;
    struct sw_flow_mask m;
    simple_fields(&m);
    const uint64_t *fw = sw_flow_key_words(full), *mw = sw_flow_key_words(&m.masks);
    for (unsigned i = 0; i < SW_FLOW_SIMPLE_WORDS; i++) {
        unsigned w = sw_flow_simple_word[i];
        if ((k.w[i] ^ fw[w]) & mw[w])
            fail_msg("%s (%zu bytes): simple word %u is %016llx, the key's %016llx (mask %016llx)",
                     name, len, w, (unsigned long long)k.w[i], (unsigned long long)fw[w],
                     (unsigned long long)mw[w]);
    }
    if (k.tcp_flags != full->tcp_flags)
        fail_msg("%s (%zu bytes): simple tcp_flags %#x, the key's %#x", name, len, k.tcp_flags,
                 full->tcp_flags);
}

/* The fast path (no layout) against the full parser (layout), on one frame. */
static void assert_fast_agrees(const char *name, const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees any overread */
    assert_non_null(copy);
    if (len)
        memcpy(copy, data, len);
    struct sw_flow_key fast, full;
    struct pkt_layout lay;
    memset(&fast, 0x5a, sizeof(fast));
    enum pkt_status st_fast = sw_flow_extract(len ? copy : NULL, len, IN_PORT, &fast, NULL);
    enum pkt_status st_full = sw_flow_extract(len ? copy : NULL, len, IN_PORT, &full, &lay);
    assert_simple_agrees(name, len ? copy : NULL, len, &full);
    free(copy);
    if (st_fast != st_full || memcmp(&fast, &full, sizeof(fast)) != 0) {
        char a[SW_FLOW_FORMAT_MAX], b[SW_FLOW_FORMAT_MAX];
        struct sw_flow_mask exact;
        sw_flow_mask_exact(&exact);
        sw_flow_format(&fast, &exact, a, sizeof(a));
        sw_flow_format(&full, &exact, b, sizeof(b));
        fail_msg("%s (%zu bytes): fast path differs\n fast %d %s\n full %d %s", name, len,
                 st_fast, a, st_full, b);
    }
}

static void test_extract_fast_path_agrees(void **state)
{
    uint64_t rng = 0x12345678;
    unsigned n = 0;
    for (size_t i = 0; i < KK_ARRAY_SIZE(extract_cases); i++) {
        const struct extract_case *c = &extract_cases[i];
        struct bld b;
        b_init(&b);
        c->build(&b);
        /* Every truncation, and every extension with trailing bytes. */
        for (uint32_t cut = 0; cut <= b.n; cut++, n++)
            assert_fast_agrees(c->name, b.b, cut);
        /* Random single-byte and few-byte corruptions of the headers
         * (lengths, versions, flags, protocols, TPIDs all get hit). */
        for (int t = 0; t < 3000; t++, n++) {
            uint8_t f[sizeof(b.b)];
            memcpy(f, b.b, b.n);
            unsigned k = 1 + (unsigned)(kk_test_rand(&rng) % 3);
            for (unsigned j = 0; j < k; j++) {
                size_t at = (size_t)(kk_test_rand(&rng) % (b.n < 80 ? b.n : 80));
                f[at] = (uint8_t)(kk_test_rand(&rng) & 1 ? kk_test_rand(&rng) : f[at] ^ 0x40);
            }
            size_t len = b.n - (size_t)(kk_test_rand(&rng) % 4 == 0 ? kk_test_rand(&rng) % b.n : 0);
            assert_fast_agrees(c->name, f, len);
        }
    }
    printf("# %u frames compared, %u read by sw_flow_extract_simple()\n", n, simple_read);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    assert_true(simple_read > 1000); /* the common frames do take the simple reader */
#endif
}

/*
 * A frame of which only the first @avail bytes are at hand (a packet whose
 * payload is elsewhere): extraction reads nothing past them, and unless it
 * says PKT_TRUNCATED it gives the whole frame's status and key; so does
 * the simple reader when it accepts. Returns whether it was truncated.
 */
static bool assert_partial_agrees(const char *name, const uint8_t *data, size_t len,
                                  size_t avail)
{
    struct sw_flow_key whole, part;
    enum pkt_status st = sw_flow_extract(data, len, IN_PORT, &whole, NULL);
    uint8_t *copy = malloc(avail ? avail : 1); /* exact size: ASan sees any overread */
    assert_non_null(copy);
    if (avail)
        memcpy(copy, data, avail);
    enum pkt_status pst = sw_flow_extract_frame(avail ? copy : NULL, avail, len, IN_PORT, &part,
                                                NULL);
    struct pkt_layout lay;
    struct sw_flow_key part2;
    enum pkt_status pst2 = sw_flow_extract_frame(avail ? copy : NULL, avail, len, IN_PORT,
                                                 &part2, &lay);
    struct sw_flow_simple sk;
    bool simple = sw_flow_extract_simple_frame(avail ? copy : NULL, avail, len, &sk);
    free(copy);
    assert_int_equal(pst, pst2);
    if (pst == PKT_TRUNCATED) {
        assert_false(simple);
        return true;
    }
    if (pst != st || memcmp(&part, &whole, sizeof(part)) != 0 ||
        memcmp(&part2, &whole, sizeof(part2)) != 0)
        fail_msg("%s (%zu of %zu bytes): status %d, whole frame %d, or keys differ", name,
                 avail, len, pst, st);
    if (simple) {
        struct sw_flow_mask m;
        simple_fields(&m);
        const uint64_t *w = sw_flow_key_words(&whole), *mw = sw_flow_key_words(&m.masks);
        for (unsigned i = 0; i < SW_FLOW_SIMPLE_WORDS; i++) {
            unsigned k = sw_flow_simple_word[i];
            assert_true(((sk.w[i] ^ w[k]) & mw[k]) == 0);
        }
        assert_int_equal(sk.tcp_flags, whole.tcp_flags);
    }
    return false;
}

static void test_extract_partial_frames(void **state)
{
    unsigned truncated = 0, whole = 0;
    for (size_t i = 0; i < KK_ARRAY_SIZE(extract_cases); i++) {
        const struct extract_case *c = &extract_cases[i];
        struct bld b;
        b_init(&b);
        c->build(&b);
        /* The frame with a payload, cut anywhere. */
        size_t len = b.n + 600 <= sizeof(b.b) ? b.n + 600 : sizeof(b.b);
        uint8_t f[sizeof(b.b)];
        memset(f, 0xa5, sizeof(f));
        memcpy(f, b.b, b.n);
        /* IP datagram lengths grow with the payload where there is one. */
        for (size_t avail = 0; avail <= b.n; avail++) {
            if (assert_partial_agrees(c->name, b.b, b.n, avail))
                truncated++;
            else
                whole++;
            assert_partial_agrees(c->name, f, len, avail);
        }
    }
    printf("# %u cuts agreed with the whole frame, %u said truncated\n", whole, truncated);
    assert_true(whole > 100 && truncated > 100);
}

/* Which masks are simple: the simple fields and any part of them, nothing else. */
static void test_mask_is_simple(void **state)
{
    (void)state;
    struct sw_flow_mask m, exact;
    memset(&m, 0, sizeof(m));
    assert_true(sw_flow_mask_is_simple(&m));
    simple_fields(&m);
    assert_true(sw_flow_mask_is_simple(&m));
    m.masks.vlan_tci = SW_VLAN_VID_MASK;
    m.masks.nw_proto = 0;
    assert_true(sw_flow_mask_is_simple(&m));
    /* One more bit anywhere else makes it not simple. */
    sw_flow_mask_exact(&exact);
    uint8_t *eb = (uint8_t *)&exact.masks;
    unsigned others = 0;
    for (size_t i = 0; i < sizeof(exact.masks); i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            simple_fields(&m);
            uint8_t *mb = (uint8_t *)&m.masks;
            if (!(eb[i] & (1u << bit)) || (mb[i] & (1u << bit)))
                continue;
            mb[i] |= (uint8_t)(1u << bit);
            assert_false(sw_flow_mask_is_simple(&m));
            others++;
        }
    }
    assert_true(others > 500);
    /* The wildcards every megaflow starts from (dpif's) are simple. */
    struct sw_flow_key k;
    assert_int_equal(sw_flow_parse("in_port=1,udp,ip_frag=no", &k, &m, NULL, 0), 0);
    assert_true(sw_flow_mask_is_simple(&m));
    assert_int_equal(sw_flow_parse("in_port=1,udp,tp_dst=53", &k, &m, NULL, 0), 0);
    assert_false(sw_flow_mask_is_simple(&m));
}

static void test_extract_from_pkt_flow(void **state)
{
    /* No layer: only in_port. */
    struct pkt_flow f;
    memset(&f, 0xa5, sizeof(f));
    f.layers = 0;
    f.n_vlans = 0;
    f.in_port = 3;
    struct sw_flow_key k;
    sw_flow_from_pkt(&f, &k);
    assert_key_is("no-layers", &k, "in_port=3");
    /* An empty frame. */
    assert_int_equal(extract_copy(NULL, 0, &k), PKT_TRUNCATED);
    assert_key_is("empty", &k, "in_port=7");
}

/* ---- text ---- */

static void test_format_canonical(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", ""},
        {"in_port=1,dl_vlan=10,ip,nw_src=10.0.0.1/24,tp_dst=80",
         "in_port=1,dl_vlan=10,ip,nw_src=10.0.0.0/24,tp_dst=80"},
        {"tcp,tp_dst=0x50/0xfff0", "tcp,tp_dst=0x50/0xfff0"},
        {"dl_type=0x0800,nw_proto=6", "tcp"},
        {"dl_type=0x86dd,nw_proto=58,icmp_type=135", "icmp6,icmpv6_type=135"},
        {"dl_type=0x86dd,nw_proto=58,icmp_type=135,nd_sll=00:00:00:00:00:01",
         "icmp6,icmpv6_type=135,nd_sll=00:00:00:00:00:01"},
        {"arp,nw_src=1.2.3.4,nw_proto=2", "arp,arp_spa=1.2.3.4,arp_op=2"},
        {"nw_src=1.2.3.4/255.0.255.0", "nw_src=1.0.3.0/255.0.255.0"},
        {"nw_dst=1.2.3.4/0", ""},
        {"ipv6,ipv6_src=2001:db8::1/32", "ipv6,ipv6_src=2001:db8::/32"},
        {"ipv6_dst=2001:db8::ff/ffff::ff", "ipv6_dst=2001::ff/ffff::ff"},
        {"dl_src=01:00:00:00:00:00/01:00:00:00:00:00",
         "dl_src=01:00:00:00:00:00/01:00:00:00:00:00"},
        {"vlan_tci=0", "vlan_tci=0x0000"},
        {"dl_vlan=5,dl_vlan_pcp=3", "dl_vlan=5,dl_vlan_pcp=3"},
        {"dl_vlan_pcp=3", "dl_vlan_pcp=3"},
        {"vlan_tci=0x1000/0x1000", "vlan_tci=0x1000/0x1000"},
        {"ip,ip_dscp=10", "ip,ip_dscp=10"},
        {"ip,nw_tos=0xb9", "ip,ip_dscp=46,nw_ecn=1"},
        {"nw_tos=0x80/0x80", "nw_tos=0x80/0x80"},
        {"ip_frag=no", "ip_frag=no"},
        {"ip_frag=not_later", "ip_frag=not_later"},
        {"nw_frag=2/3", "nw_frag=0x2"},
        {"nw_frag=2/2", "nw_frag=0x2/0x2"},
        {"tcp,tcp_flags=+syn-ack", "tcp,tcp_flags=0x2/0x12"},
        {"tcp_flags=0x12", "tcp_flags=0x12"},
        {" in_port = 4 , udp6 ", "in_port=4,udp6"},
        {"in_port=1,in_port=2", "in_port=2"},
        {"recirc_id=0x10,nd_target=fe80::1", "recirc_id=0x10,nd_target=fe80::1"},
    };
    for (size_t i = 0; i < KK_ARRAY_SIZE(cases); i++) {
        struct sw_flow_key k;
        struct sw_flow_mask m;
        char err[128], out[SW_FLOW_FORMAT_MAX];
        if (sw_flow_parse(cases[i].in, &k, &m, err, sizeof(err)) != 0)
            fail_msg("'%s': %s", cases[i].in, err);
        sw_flow_format(&k, &m, out, sizeof(out));
        if (strcmp(out, cases[i].out) != 0)
            fail_msg("'%s' formats as '%s', want '%s'", cases[i].in, out, cases[i].out);
    }
}

static void test_format_truncates_like_snprintf(void **state)
{
    struct sw_flow_key k;
    struct sw_flow_mask m;
    assert_int_equal(sw_flow_parse("in_port=1,tcp,tp_dst=80", &k, &m, NULL, 0), 0);
    char full[64];
    int n = sw_flow_format(&k, &m, full, sizeof(full));
    assert_int_equal(n, (int)strlen("in_port=1,tcp,tp_dst=80"));
    char small[8];
    assert_int_equal(sw_flow_format(&k, &m, small, sizeof(small)), n);
    assert_string_equal(small, "in_port");
    assert_int_equal(sw_flow_format(&k, &m, NULL, 0), n);
}

/* A random mask: each field absent, exact, or (for some) a prefix or random bits. */
static void random_match(uint64_t *rng, struct sw_flow_key *k, struct sw_flow_mask *m)
{
    uint8_t *kb = (uint8_t *)k, *mb = (uint8_t *)&m->masks;
    for (size_t i = 0; i < sizeof(*k); i++) {
        kb[i] = (uint8_t)kk_test_rand(rng);
        mb[i] = 0;
    }
    struct sw_flow_mask exact;
    sw_flow_mask_exact(&exact);
    const uint8_t *eb = (const uint8_t *)&exact.masks;
    /* Field by field: bytes runs of the exact mask, split at the field
     * offsets we know from the layout (each non-zero run of exact bytes is
     * one or more fields; treat 2-byte granules independently). */
    for (size_t i = 0; i < sizeof(*k); i += 2) {
        unsigned how = (unsigned)(kk_test_rand(rng) % 8);
        for (size_t j = i; j < i + 2; j++) {
            uint8_t mbyte = how < 4 ? 0 : how < 6 ? 0xff : (uint8_t)kk_test_rand(rng);
            mb[j] = mbyte & eb[j];
        }
    }
    sw_flow_key_mask(k, k, m);
}

static void test_random_round_trips(void **state)
{
    uint64_t rng = 0xf70e;
    for (int iter = 0; iter < 20000; iter++) {
        struct sw_flow_key k, k2;
        struct sw_flow_mask m, m2;
        random_match(&rng, &k, &m);
        /* Sometimes a meaningful dl_type/nw_proto, to exercise the names. */
        if (iter % 3 == 0) {
            static const uint16_t types[] = {PKT_ETH_TYPE_IPV4, PKT_ETH_TYPE_IPV6,
                                             PKT_ETH_TYPE_ARP};
            static const uint8_t protos[] = {1, 6, 17, 58, 132};
            k.dl_type = types[kk_test_rand(&rng) % 3];
            m.masks.dl_type = 0xffff;
            k.nw_proto = protos[kk_test_rand(&rng) % 5];
            m.masks.nw_proto = kk_test_rand(&rng) % 2 ? 0xff : 0;
            sw_flow_key_mask(&k, &k, &m);
        }
        char text[SW_FLOW_FORMAT_MAX], err[128];
        int n = sw_flow_format(&k, &m, text, sizeof(text));
        assert_true(n >= 0 && n < (int)sizeof(text));
        if (sw_flow_parse(text, &k2, &m2, err, sizeof(err)) != 0)
            fail_msg("'%s' does not parse back: %s", text, err);
        if (memcmp(&m, &m2, sizeof(m)) != 0 || memcmp(&k, &k2, sizeof(k)) != 0)
            fail_msg("'%s' parses back differently", text);
    }
}

static void test_hash_and_compare_under_mask(void **state)
{
    uint64_t rng = 0x4a5;
    for (int iter = 0; iter < 2000; iter++) {
        struct sw_flow_key k, k2;
        struct sw_flow_mask m;
        random_match(&rng, &k, &m);
        /* Whole-key equality: itself, and one flipped bit anywhere. */
        k2 = k;
        assert_true(sw_flow_key_equal(&k, &k2));
        ((uint8_t *)&k2)[iter % sizeof(k2)] ^= (uint8_t)(1u << (iter % 8));
        assert_false(sw_flow_key_equal(&k, &k2));
        assert_false(sw_flow_key_equal(&k2, &k));
        /* Flip bits outside the mask: equal and same hash. */
        k2 = k;
        uint8_t *b2 = (uint8_t *)&k2;
        const uint8_t *mb = (const uint8_t *)&m.masks;
        for (size_t i = 0; i < sizeof(k2); i++)
            b2[i] ^= (uint8_t)(kk_test_rand(&rng) & ~mb[i]);
        assert_true(sw_flow_key_equal_masked(&k, &k2, &m));
        assert_true(sw_flow_hash_masked(&k, &m, 9) == sw_flow_hash_masked(&k2, &m, 9));
        /* Flip one bit inside it: different. */
        if (sw_flow_mask_is_catchall(&m))
            continue;
        size_t i;
        do {
            i = kk_test_rand(&rng) % sizeof(k2);
        } while (!mb[i]);
        b2[i] ^= (uint8_t)(mb[i] & -mb[i]);
        assert_false(sw_flow_key_equal_masked(&k, &k2, &m));
        assert_true(sw_flow_hash_masked(&k, &m, 9) != sw_flow_hash_masked(&k2, &m, 9));
    }
    struct sw_flow_mask a, b;
    memset(&a, 0, sizeof(a));
    sw_flow_mask_exact(&b);
    assert_true(sw_flow_mask_is_subset(&a, &b));
    assert_false(sw_flow_mask_is_subset(&b, &a));
    sw_flow_mask_or(&a, &b);
    assert_memory_equal(&a, &b, sizeof(a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_refuses_bad_text),
        cmocka_unit_test(test_extract_every_protocol),
        cmocka_unit_test(test_extract_from_pkt_flow),
        cmocka_unit_test(test_extract_fast_path_agrees),
        cmocka_unit_test(test_extract_partial_frames),
        cmocka_unit_test(test_mask_is_simple),
        cmocka_unit_test(test_format_canonical),
        cmocka_unit_test(test_format_truncates_like_snprintf),
        cmocka_unit_test(test_random_round_trips),
        cmocka_unit_test(test_hash_and_compare_under_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
