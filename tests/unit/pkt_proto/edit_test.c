/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Header rewrites: refusals first (nothing may be written), then VLAN
 * push/pop byte for byte, then every set_field with its checksums checked
 * by verification and against a full recomputation on random rewrites.
 */
#include <errno.h>

#include "kk_common.h"
#include "kk_test.h"
#include "pkt_build.h"
#include "pkt_csum.h"
#include "pkt_edit.h"
#include "pkt_proto.h"

#define HEADROOM 16

static void build_ipv4(struct bld *b, uint8_t proto, uint16_t frag_off)
{
    b_init(b);
    b_eth(b, PKT_ETH_TYPE_IPV4);
    b_ipv4(b, proto, frag_off, NULL, 0);
    if (proto == PKT_IPPROTO_TCP)
        b_tcp(b, 1000, 2000, PKT_TCP_SYN, 4);
    else if (proto == PKT_IPPROTO_UDP)
        b_udp(b, 1000, 2000);
    else if (proto == PKT_IPPROTO_SCTP)
        b_sctp(b, 1000, 2000);
    else
        b_icmp(b, 8, 0, 1);
    b_payload(b, 21);
    b_finish(b);
}

static void build_ipv6(struct bld *b, uint8_t proto)
{
    b_init(b);
    b_eth(b, PKT_ETH_TYPE_IPV6);
    b_ipv6(b, proto);
    if (proto == PKT_IPPROTO_TCP)
        b_tcp(b, 1000, 2000, PKT_TCP_SYN, 0);
    else if (proto == PKT_IPPROTO_UDP)
        b_udp(b, 1000, 2000);
    else if (proto == PKT_IPPROTO_SCTP)
        b_sctp(b, 1000, 2000);
    else
        b_icmp(b, 128, 0, 1);
    b_payload(b, 13);
    b_finish(b);
}

static void parse_ok(const uint8_t *p, size_t n, struct pkt_flow *f, struct pkt_layout *lay)
{
    char d[64];
    f->in_port = 0;
    if (pkt_parse(p, n, f, lay) != PKT_OK)
        fail_msg("parse: %s", pkt_layout_describe(lay, d, sizeof(d)));
}

static void test_refusals_write_nothing(void **state)
{
    struct bld b;
    struct pkt_flow f;
    struct pkt_layout lay;
    uint8_t buf[HEADROOM + 2048], saved[sizeof(buf)];
    size_t headroom, len;

    build_ipv4(&b, PKT_IPPROTO_ICMP, 0);
    memcpy(buf + HEADROOM, b.b, b.n);
    memcpy(saved, buf, sizeof(buf));

    /* Push: no headroom, or no Ethernet header. */
    headroom = 3;
    len = b.n;
    assert_int_equal(pkt_vlan_push(buf + HEADROOM - 3, &headroom, &len, 0x8100, 1), -ENOSPC);
    assert_int_equal(headroom, 3);
    assert_int_equal(len, b.n);
    headroom = HEADROOM;
    len = 13;
    assert_int_equal(pkt_vlan_push(buf, &headroom, &len, 0x8100, 1), -EINVAL);
    /* Pop: untagged, or too short to be tagged. */
    len = b.n;
    assert_int_equal(pkt_vlan_pop(buf, &headroom, &len, NULL, NULL), -ENOENT);
    uint16_t tci;
    assert_int_equal(pkt_vlan_outer_tci(buf + HEADROOM, len, &tci), -ENOENT);
    assert_int_equal(pkt_vlan_set_tci(buf + HEADROOM, len, 5, 0xffff), -ENOENT);
    buf[HEADROOM + 12] = 0x81;
    buf[HEADROOM + 13] = 0x00;
    len = 17;
    assert_int_equal(pkt_vlan_pop(buf, &headroom, &len, NULL, NULL), -ENOENT);
    buf[HEADROOM + 12] = 0x08;
    buf[HEADROOM + 13] = 0x00;
    assert_int_equal(headroom, HEADROOM);
    assert_int_equal(pkt_set_eth_addrs(buf + HEADROOM, 13, B_DST, NULL), -EINVAL);

    uint8_t *frame = buf + HEADROOM;
    parse_ok(frame, b.n, &f, &lay);
    /* Set functions on a frame without that header. */
    static const uint8_t a6[16] = {1};
    assert_int_equal(pkt_set_ipv6_src(frame, b.n, &lay, a6), -ENOENT);
    assert_int_equal(pkt_set_ipv6_dst(frame, b.n, &lay, a6), -ENOENT);
    assert_int_equal(pkt_set_tp_src(frame, b.n, &lay, 1), -ENOENT); /* ICMP has no ports */
    /* A layout that does not fit the length given. */
    assert_int_equal(pkt_set_ipv4_src(frame, 30, &lay, 1), -EINVAL);
    assert_int_equal(pkt_set_ip_ttl(frame, 20, &lay, 1), -EINVAL);
    assert_int_equal(pkt_set_ip_tos(frame, 20, &lay, 1, 0xff), -EINVAL);
    assert_memory_equal(buf, saved, sizeof(buf));

    /* TCP with its checksum field cut off. */
    build_ipv4(&b, PKT_IPPROTO_TCP, 0);
    parse_ok(b.b, b.n, &f, &lay);
    memcpy(saved, b.b, b.n);
    assert_int_equal(pkt_set_ipv4_dst(b.b, lay.l4_ofs + 10, &lay, 1), -EINVAL);
    assert_int_equal(pkt_set_tp_dst(b.b, lay.l4_ofs + 10, &lay, 1), -EINVAL);
    assert_memory_equal(b.b, saved, b.n);

    /* SCTP needs the whole packet (and no fragment) to redo its CRC. */
    build_ipv4(&b, PKT_IPPROTO_SCTP, 0);
    parse_ok(b.b, b.n, &f, &lay);
    memcpy(saved, b.b, b.n);
    assert_int_equal(pkt_set_tp_src(b.b, b.n - 1, &lay, 1), -EINVAL);
    struct pkt_layout frag = lay;
    frag.nw_frag = PKT_FRAG_FIRST;
    assert_int_equal(pkt_set_tp_src(b.b, b.n, &frag, 1), -ENOTSUP);
    assert_memory_equal(b.b, saved, b.n);

    /* A later fragment has no ports. */
    build_ipv4(&b, PKT_IPPROTO_UDP, 2);
    parse_ok(b.b, b.n, &f, &lay);
    assert_int_equal(pkt_set_tp_src(b.b, b.n, &lay, 1), -ENOENT);
}

static void test_vlan_push_pop(void **state)
{
    struct bld b;
    struct pkt_flow f;
    struct pkt_layout lay;
    uint8_t buf[HEADROOM + 2048];

    build_ipv4(&b, PKT_IPPROTO_UDP, 0);
    memset(buf, 0xee, sizeof(buf));
    memcpy(buf + HEADROOM, b.b, b.n);
    size_t headroom = HEADROOM, len = b.n;

    /* Untagged -> C-tag -> S-tag + C-tag. */
    assert_int_equal(pkt_vlan_push(buf, &headroom, &len, PKT_ETH_TYPE_VLAN, 3 << 13 | 42), 0);
    assert_int_equal(headroom, HEADROOM - 4);
    assert_int_equal(len, b.n + 4);
    assert_int_equal(pkt_vlan_push(buf, &headroom, &len, PKT_ETH_TYPE_QINQ, 7), 0);
    assert_int_equal(headroom, HEADROOM - 8);
    /* Only the 12 address bytes moved: the tail is where it was. */
    assert_memory_equal(buf + headroom + 20, b.b + 12, b.n - 12);
    parse_ok(buf + headroom, len, &f, &lay);
    assert_int_equal(f.n_vlans, 2);
    assert_int_equal(f.vlans[0].tpid, PKT_ETH_TYPE_QINQ);
    assert_int_equal(f.vlans[0].vid, 7);
    assert_int_equal(f.vlans[1].tpid, PKT_ETH_TYPE_VLAN);
    assert_int_equal(f.vlans[1].vid, 42);
    assert_int_equal(f.vlans[1].pcp, 3);
    assert_memory_equal(f.dl_dst, B_DST, 6);
    assert_memory_equal(f.dl_src, B_SRC, 6);
    assert_int_equal(f.tp_dst, 2000);
    assert_int_equal(lay.l3_ofs, 22);
    /* The checksum does not cover L2. */
    assert_int_equal(pkt_l4_csum_verify(buf + headroom, len, &lay), 0);

    /* set_field vlan_vid / vlan_pcp act on the outer tag. */
    assert_int_equal(pkt_vlan_set_tci(buf + headroom, len, 0x0123, PKT_VLAN_VID_MASK), 0);
    assert_int_equal(pkt_vlan_set_tci(buf + headroom, len, 5 << 13, 7 << 13), 0);
    uint16_t tci, tpid;
    assert_int_equal(pkt_vlan_outer_tci(buf + headroom, len, &tci), 0);
    assert_int_equal(tci, 5 << 13 | 0x123);

    /* Pop both, back to the original bytes. */
    assert_int_equal(pkt_vlan_pop(buf, &headroom, &len, &tpid, &tci), 0);
    assert_int_equal(tpid, PKT_ETH_TYPE_QINQ);
    assert_int_equal(tci, 5 << 13 | 0x123);
    assert_int_equal(pkt_vlan_pop(buf, &headroom, &len, &tpid, &tci), 0);
    assert_int_equal(tpid, PKT_ETH_TYPE_VLAN);
    assert_int_equal(tci, 3 << 13 | 42);
    assert_int_equal(headroom, HEADROOM);
    assert_int_equal(len, b.n);
    assert_memory_equal(buf + HEADROOM, b.b, b.n);
    assert_int_equal(buf[HEADROOM + b.n], 0xee);
    assert_int_equal(pkt_vlan_pop(buf, &headroom, &len, NULL, NULL), -ENOENT);

    /* Exactly 4 bytes of headroom is enough, and a bare header works. */
    headroom = 4;
    len = 14;
    memcpy(buf + 4, b.b, 14);
    assert_int_equal(pkt_vlan_push(buf, &headroom, &len, PKT_ETH_TYPE_VLAN, 9), 0);
    assert_int_equal(headroom, 0);
    assert_int_equal(len, 18);
    assert_memory_equal(buf, b.b, 12);
    assert_int_equal(pkt_get16(buf + 12), PKT_ETH_TYPE_VLAN);
    assert_int_equal(pkt_get16(buf + 14), 9);
    assert_int_equal(pkt_get16(buf + 16), PKT_ETH_TYPE_IPV4);
}

static void test_set_eth(void **state)
{
    struct bld b;
    build_ipv4(&b, PKT_IPPROTO_UDP, 0);
    static const uint8_t m1[6] = {1, 2, 3, 4, 5, 6}, m2[6] = {7, 8, 9, 10, 11, 12};
    assert_int_equal(pkt_set_eth_addrs(b.b, b.n, m1, NULL), 0);
    assert_memory_equal(b.b, B_DST, 6);
    assert_memory_equal(b.b + 6, m1, 6);
    assert_int_equal(pkt_set_eth_addrs(b.b, b.n, NULL, m2), 0);
    assert_memory_equal(b.b, m2, 6);
    assert_memory_equal(b.b + 6, m1, 6);
    assert_int_equal(pkt_get16(b.b + 12), PKT_ETH_TYPE_IPV4);
}

/* The L4 checksum field value a full recomputation gives (via the
 * reference, over the same bytes with the field zeroed). */
static uint16_t full_l4(struct bld *b, uint32_t field)
{
    uint8_t saved[2];
    memcpy(saved, b->b + field, 2);
    memset(b->b + field, 0, 2);
    uint16_t c = ref_l4_csum(b);
    memcpy(b->b + field, saved, 2);
    return c;
}

static void test_set_ip_fields(void **state)
{
    struct pkt_flow f;
    struct pkt_layout lay;
    struct bld b;

    /* IPv4, each L4 kind, including a first fragment (checksum over the
     * whole datagram, still fixed incrementally). */
    static const struct {
        uint8_t proto;
        uint16_t frag;
    } v4[] = {{PKT_IPPROTO_TCP, 0}, {PKT_IPPROTO_UDP, 0}, {PKT_IPPROTO_ICMP, 0},
              {PKT_IPPROTO_SCTP, 0}, {PKT_IPPROTO_TCP, PKT_IPV4_MF}};
    for (size_t i = 0; i < KK_ARRAY_SIZE(v4); i++) {
        build_ipv4(&b, v4[i].proto, v4[i].frag);
        parse_ok(b.b, b.n, &f, &lay);
        assert_int_equal(pkt_set_ipv4_src(b.b, b.n, &lay, 0x01020304), 0);
        assert_int_equal(pkt_set_ipv4_dst(b.b, b.n, &lay, 0xfffffffe), 0);
        assert_int_equal(pkt_set_ip_ttl(b.b, b.n, &lay, 1), 0);
        assert_int_equal(pkt_set_ip_tos(b.b, b.n, &lay, 10 << 2, 0xfc), 0); /* DSCP 10 */
        assert_int_equal(pkt_set_ip_tos(b.b, b.n, &lay, 3, 0x03), 0);       /* ECN CE */
        parse_ok(b.b, b.n, &f, &lay);
        assert_int_equal(f.nw_src, 0x01020304);
        assert_int_equal(f.nw_dst, 0xfffffffe);
        assert_int_equal(f.nw_ttl, 1);
        assert_int_equal(f.nw_dscp, 10);
        assert_int_equal(f.nw_ecn, 3);
        assert_int_equal(pkt_ipv4_csum_verify(b.b, b.n, &lay), 0);
        if (v4[i].frag)
            assert_int_equal(pkt_get16(b.b + lay.l4_ofs + 16), full_l4(&b, lay.l4_ofs + 16));
        else
            assert_int_equal(pkt_l4_csum_verify(b.b, b.n, &lay), 0);
    }

    /* IPv6: TCP, UDP, ICMPv6 (pseudo-header), SCTP (none). */
    static const uint8_t s6[16] = {0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    static const uint8_t d6[16] = {0xff, 0x02, [15] = 1};
    static const uint8_t protos6[] = {PKT_IPPROTO_TCP, PKT_IPPROTO_UDP, PKT_IPPROTO_ICMPV6,
                                      PKT_IPPROTO_SCTP};
    for (size_t i = 0; i < KK_ARRAY_SIZE(protos6); i++) {
        build_ipv6(&b, protos6[i]);
        parse_ok(b.b, b.n, &f, &lay);
        assert_int_equal(pkt_set_ipv6_src(b.b, b.n, &lay, s6), 0);
        assert_int_equal(pkt_set_ipv6_dst(b.b, b.n, &lay, d6), 0);
        assert_int_equal(pkt_set_ip_ttl(b.b, b.n, &lay, 17), 0);
        assert_int_equal(pkt_set_ip_tos(b.b, b.n, &lay, 0xff, 0x03), 0);
        parse_ok(b.b, b.n, &f, &lay);
        assert_memory_equal(f.ipv6_src, s6, 16);
        assert_memory_equal(f.ipv6_dst, d6, 16);
        assert_int_equal(f.nw_ttl, 17);
        assert_int_equal(f.nw_tos, 0xa7);
        assert_int_equal(f.ipv6_label, 0x12345);
        assert_int_equal(pkt_l4_csum_verify(b.b, b.n, &lay), 0);
    }

    /* UDP without a checksum keeps none, over IPv4 and IPv6. */
    build_ipv4(&b, PKT_IPPROTO_UDP, 0);
    parse_ok(b.b, b.n, &f, &lay);
    pkt_put16(b.b + lay.l4_ofs + 6, 0);
    assert_int_equal(pkt_set_ipv4_src(b.b, b.n, &lay, 0x0a0b0c0d), 0);
    assert_int_equal(pkt_set_tp_dst(b.b, b.n, &lay, 9999), 0);
    assert_int_equal(pkt_get16(b.b + lay.l4_ofs + 6), 0);
    assert_int_equal(pkt_l4_csum_verify(b.b, b.n, &lay), 1);
    build_ipv6(&b, PKT_IPPROTO_UDP);
    parse_ok(b.b, b.n, &f, &lay);
    pkt_put16(b.b + lay.l4_ofs + 6, 0);
    assert_int_equal(pkt_set_ipv6_src(b.b, b.n, &lay, s6), 0);
    assert_int_equal(pkt_get16(b.b + lay.l4_ofs + 6), 0);

    /* A routing header with segments left: the pseudo-header keeps the
     * final destination, so the L4 checksum must not change. */
    b_init(&b);
    b_eth(&b, PKT_ETH_TYPE_IPV6);
    b_ipv6(&b, PKT_IPPROTO_ROUTING);
    b_ext(&b, PKT_IPPROTO_ROUTING, PKT_IPPROTO_TCP, 24);
    b_tcp(&b, 1, 2, PKT_TCP_SYN, 0);
    b_finish(&b);
    b.b[54 + 3] = 1;
    parse_ok(b.b, b.n, &f, &lay);
    uint16_t before = pkt_get16(b.b + lay.l4_ofs + 16);
    assert_int_equal(pkt_set_ipv6_dst(b.b, b.n, &lay, d6), 0);
    assert_int_equal(pkt_get16(b.b + lay.l4_ofs + 16), before);
    assert_int_equal(pkt_set_ipv6_src(b.b, b.n, &lay, s6), 0);
    assert_int_not_equal(pkt_get16(b.b + lay.l4_ofs + 16), before);
}

static void test_set_ports(void **state)
{
    struct pkt_flow f;
    struct pkt_layout lay;
    struct bld b;
    static const uint8_t protos[] = {PKT_IPPROTO_TCP, PKT_IPPROTO_UDP, PKT_IPPROTO_SCTP};
    for (int ip = 4; ip <= 6; ip += 2) {
        for (size_t i = 0; i < KK_ARRAY_SIZE(protos); i++) {
            if (ip == 4)
                build_ipv4(&b, protos[i], 0);
            else
                build_ipv6(&b, protos[i]);
            parse_ok(b.b, b.n, &f, &lay);
            assert_int_equal(pkt_set_tp_src(b.b, b.n, &lay, 65535), 0);
            assert_int_equal(pkt_set_tp_dst(b.b, b.n, &lay, 0), 0);
            parse_ok(b.b, b.n, &f, &lay);
            assert_int_equal(f.tp_src, 65535);
            assert_int_equal(f.tp_dst, 0);
            assert_int_equal(pkt_l4_csum_verify(b.b, b.n, &lay), 0);
        }
    }
    /* A wrong SCTP CRC stays wrong by the same amount. */
    build_ipv4(&b, PKT_IPPROTO_SCTP, 0);
    parse_ok(b.b, b.n, &f, &lay);
    uint8_t *sctp = b.b + lay.l4_ofs;
    pkt_sctp_csum_store(sctp, pkt_sctp_csum_load(sctp) ^ 0x00ff0000);
    assert_int_equal(pkt_set_tp_dst(b.b, b.n, &lay, 4242), 0);
    assert_int_equal(pkt_sctp_csum_load(sctp) ^ pkt_sctp_csum(sctp, b.n - lay.l4_ofs), 0x00ff0000);
}

/* The pseudo-header sum (not inverted) of @b as it is now, by the reference. */
static uint16_t ref_pseudo_sum(const struct bld *b)
{
    const uint8_t *ip = b->b + b->l3;
    uint32_t len = b->n - b->l4;
    uint32_t sum = b->ip == 4 ? ref_sum(0, ip + 12, 8) : ref_sum(0, ip + 8, 32);
    sum += b->l4_proto + (len >> 16) + (len & 0xffff);
    return (uint16_t)~ref_fold(sum);
}

/* Checksum offload pending: the field is the pseudo-header sum, which
 * address rewrites move and port rewrites leave alone. */
static void test_offload_partial(void **state)
{
    static const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0xaa, [15] = 0x99};
    for (int ip = 4; ip <= 6; ip += 2) {
        for (int udp = 0; udp <= 1; udp++) {
            struct bld b;
            uint8_t proto = udp ? PKT_IPPROTO_UDP : PKT_IPPROTO_TCP;
            if (ip == 4)
                build_ipv4(&b, proto, 0);
            else
                build_ipv6(&b, proto);
            struct pkt_flow f;
            struct pkt_layout lay;
            parse_ok(b.b, b.n, &f, &lay);
            assert_int_equal(lay.l4_csum_partial, 0);
            lay.l4_csum_partial = 1;
            uint8_t *field = b.b + lay.l4_ofs + (udp ? 6 : 16);
            pkt_put16(field, ref_pseudo_sum(&b));
            assert_int_equal(pkt_l4_csum_verify(b.b, b.n, &lay), -EINPROGRESS);

            if (ip == 4) {
                assert_int_equal(pkt_set_ipv4_src(b.b, b.n, &lay, 0xac100001), 0);
                assert_int_equal(pkt_set_ipv4_dst(b.b, b.n, &lay, 0xffffffff), 0);
            } else {
                assert_int_equal(pkt_set_ipv6_src(b.b, b.n, &lay, a6), 0);
                assert_int_equal(pkt_set_ipv6_dst(b.b, b.n, &lay, B_IP6_SRC), 0);
            }
            assert_int_equal(pkt_get16(field), ref_pseudo_sum(&b));
            uint16_t before = pkt_get16(field);
            assert_int_equal(pkt_set_tp_src(b.b, b.n, &lay, 7), 0);
            assert_int_equal(pkt_set_tp_dst(b.b, b.n, &lay, 8), 0);
            assert_int_equal(pkt_get16(field), before);
            assert_int_equal(pkt_get16(b.b + lay.l4_ofs), 7);

            /* Completing it in software gives a valid checksum. */
            assert_int_equal(pkt_l4_csum_set(b.b, b.n, &lay), 0);
            lay.l4_csum_partial = 0;
            assert_int_equal(pkt_l4_csum_verify(b.b, b.n, &lay), 0);
            uint16_t want = full_l4(&b, lay.l4_ofs + (udp ? 6 : 16));
            assert_int_equal(pkt_get16(field), udp && want == 0 ? 0xffff : want);
        }
    }
}

/* Many random rewrites on TCP/UDP over IPv4/IPv6: after each, the fields
 * read back and every checksum equals a full recomputation. */
static void test_random_rewrites(void **state)
{
    uint64_t rng = 77;
    unsigned n = 0;
    for (int round = 0; round < 64; round++) {
        struct bld b;
        int ip = round & 1 ? 6 : 4;
        uint8_t proto = round & 2 ? PKT_IPPROTO_UDP : PKT_IPPROTO_TCP;
        if (ip == 4)
            build_ipv4(&b, proto, 0);
        else
            build_ipv6(&b, proto);
        struct pkt_flow f;
        struct pkt_layout lay;
        parse_ok(b.b, b.n, &f, &lay);
        uint32_t field = lay.l4_ofs + (proto == PKT_IPPROTO_TCP ? 16 : 6);
        for (int i = 0; i < 300; i++, n++) {
            uint64_t r = kk_test_rand(&rng);
            int rc = 0;
            switch (r % 5) {
            case 0:
                if (ip == 4) {
                    rc = pkt_set_ipv4_src(b.b, b.n, &lay, (uint32_t)(r >> 8));
                } else {
                    uint8_t a[16];
                    for (int j = 0; j < 16; j++)
                        a[j] = (uint8_t)(r >> (j * 4));
                    rc = pkt_set_ipv6_src(b.b, b.n, &lay, a);
                }
                break;
            case 1:
                if (ip == 4) {
                    rc = pkt_set_ipv4_dst(b.b, b.n, &lay, (uint32_t)(r >> 16));
                } else {
                    uint8_t a[16];
                    for (int j = 0; j < 16; j++)
                        a[j] = (uint8_t)(r >> (j * 3));
                    rc = pkt_set_ipv6_dst(b.b, b.n, &lay, a);
                }
                break;
            case 2:
                rc = pkt_set_tp_src(b.b, b.n, &lay, (uint16_t)(r >> 20));
                break;
            case 3:
                rc = pkt_set_tp_dst(b.b, b.n, &lay, (uint16_t)(r >> 30));
                break;
            default:
                rc = pkt_set_ip_ttl(b.b, b.n, &lay, (uint8_t)(r >> 12));
                if (rc == 0)
                    rc = pkt_set_ip_tos(b.b, b.n, &lay, (uint8_t)(r >> 24), (uint8_t)(r >> 32));
                break;
            }
            assert_int_equal(rc, 0);
            uint16_t want = full_l4(&b, field);
            if (proto == PKT_IPPROTO_UDP && want == 0)
                want = 0xffff;
            if (pkt_get16(b.b + field) != want)
                fail_msg("round %d rewrite %d: checksum %#x, recomputed %#x", round, i,
                         pkt_get16(b.b + field), want);
            if (ip == 4)
                assert_int_equal(pkt_get16(b.b + lay.l3_ofs + 10),
                                 ref_fold(ref_sum(0, b.b + lay.l3_ofs, 10) +
                                          ref_sum(0, b.b + lay.l3_ofs + 12, 8)));
        }
        struct pkt_flow f2;
        parse_ok(b.b, b.n, &f2, &lay);
        assert_int_equal(pkt_l4_csum_verify(b.b, b.n, &lay), 0);
    }
    printf("# %u random rewrites matched full recomputation\n", n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals_write_nothing),
        cmocka_unit_test(test_vlan_push_pop),
        cmocka_unit_test(test_set_eth),
        cmocka_unit_test(test_set_ip_fields),
        cmocka_unit_test(test_set_ports),
        cmocka_unit_test(test_offload_partial),
        cmocka_unit_test(test_random_rewrites),
    };
    return cmocka_run_group_tests_name("pkt_edit", tests, NULL, NULL);
}
