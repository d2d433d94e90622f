/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Matches: OXM refusals first (lengths, classes, fields, masks, values,
 * duplicates, every prerequisite of the field table), then 1.0 wildcard
 * conversions both ways, then random valid matches against an OXM round
 * trip and (for the 1.0-expressible ones) a 1.0 round trip.
 */
#include "kk_common.h"
#include "ofp_test_util.h"

static enum ofp_err oxm(const char *text)
{
    uint8_t b[256];
    size_t n = hex(text, b, sizeof(b));
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, b, n);
    struct ofp_match_fields m;
    enum ofp_err e = ofp_oxm_decode(copy, n, &m);
    free(copy);
    return e;
}

#define ETH_IP "80 00 0a 02 08 00 "
#define ETH_IP6 "80 00 0a 02 86 dd "
#define ETH_ARP "80 00 0a 02 08 06 "
#define PROTO(x) "80 00 14 01 " x " "

static void test_oxm_refuses(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        enum ofp_err err;
    } cases[] = {
        {"80 00", OFPERR_OFPBMC_BAD_LEN},
        {"80 00 0a", OFPERR_OFPBMC_BAD_LEN},
        {"80 00 0a 02 08", OFPERR_OFPBMC_BAD_LEN},
        {"80 00 0a 03 08 00 00", OFPERR_OFPBMC_BAD_LEN},
        {"80 00 00 08 00 00 00 01 00 00 00 01", OFPERR_OFPBMC_BAD_LEN}, /* in_port masked len */
        {"00 01 00 04 00 00 00 01", OFPERR_OFPBMC_BAD_FIELD},            /* NXM_1 */
        {"ff ff 00 08 00 00 23 20 00 00 00 01", OFPERR_OFPBMC_BAD_FIELD}, /* experimenter */
        {"80 00 50 04 00 00 00 01", OFPERR_OFPBMC_BAD_FIELD},            /* field 40 */
        {"80 00 fe 04 00 00 00 01", OFPERR_OFPBMC_BAD_FIELD},            /* field 127 */
        {"80 00 01 08 00 00 00 01 ff ff ff ff", OFPERR_OFPBMC_BAD_MASK}, /* in_port mask */
        {"80 00 00 04 00 00 00 01 80 00 00 04 00 00 00 02", OFPERR_OFPBMC_DUP_FIELD},
        {ETH_IP ETH_IP, OFPERR_OFPBMC_DUP_FIELD},
        {"80 00 07 0c 01 00 00 00 00 01 ff 00 00 00 00 00", OFPERR_OFPBMC_BAD_WILDCARDS},
        {ETH_IP "80 00 17 08 0a 00 00 01 ff ff ff 00", OFPERR_OFPBMC_BAD_WILDCARDS},
        {"80 00 0c 02 20 00", OFPERR_OFPBMC_BAD_VALUE},                  /* vlan_vid 0x2000 */
        {"80 00 0c 02 10 01 80 00 0e 01 08", OFPERR_OFPBMC_BAD_VALUE},   /* pcp 8 */
        {ETH_IP "80 00 10 01 40", OFPERR_OFPBMC_BAD_VALUE},              /* dscp 64 */
        {ETH_IP "80 00 12 01 04", OFPERR_OFPBMC_BAD_VALUE},              /* ecn 4 */
        {ETH_IP6 "80 00 38 04 00 10 00 00", OFPERR_OFPBMC_BAD_VALUE},    /* flabel 21 bits */
        {"80 00 0a 02 88 47 80 00 44 04 00 10 00 00", OFPERR_OFPBMC_BAD_VALUE}, /* mpls label */
        {"80 00 0a 02 88 47 80 00 48 01 02", OFPERR_OFPBMC_BAD_VALUE},   /* mpls bos 2 */
        {ETH_IP6 "80 00 4e 02 02 00", OFPERR_OFPBMC_BAD_VALUE},          /* exthdr 0x200 */
        /* prerequisites */
        {"80 00 02 04 00 00 00 01", OFPERR_OFPBMC_BAD_PREREQ},           /* in_phy_port alone */
        {"80 00 0e 01 03", OFPERR_OFPBMC_BAD_PREREQ},                    /* pcp, no vlan */
        {"80 00 0c 02 00 00 80 00 0e 01 03", OFPERR_OFPBMC_BAD_PREREQ},  /* pcp, no tag */
        {PROTO("06"), OFPERR_OFPBMC_BAD_PREREQ},
        {"80 00 0a 02 88 47 " PROTO("06"), OFPERR_OFPBMC_BAD_PREREQ},
        {"80 00 0b 04 08 00 ff ff " PROTO("06"), OFPERR_OFPBMC_BAD_MASK}, /* masked eth_type */
        {"80 00 0a 02 08 06 " PROTO("06"), OFPERR_OFPBMC_BAD_PREREQ},   /* ip_proto on arp */
        {"80 00 10 01 01", OFPERR_OFPBMC_BAD_PREREQ},                    /* dscp */
        {ETH_IP6 "80 00 16 04 0a 00 00 01", OFPERR_OFPBMC_BAD_PREREQ},   /* ipv4_src on v6 */
        {ETH_IP "80 00 1a 02 00 50", OFPERR_OFPBMC_BAD_PREREQ},          /* tcp_dst, no proto */
        {ETH_IP PROTO("11") "80 00 1a 02 00 50", OFPERR_OFPBMC_BAD_PREREQ},
        {ETH_IP PROTO("06") "80 00 1e 02 00 50", OFPERR_OFPBMC_BAD_PREREQ}, /* udp on tcp */
        {ETH_IP PROTO("06") "80 00 22 02 00 50", OFPERR_OFPBMC_BAD_PREREQ}, /* sctp on tcp */
        {ETH_IP6 PROTO("01") "80 00 26 01 08", OFPERR_OFPBMC_BAD_PREREQ}, /* icmpv4 on v6 */
        {ETH_IP PROTO("3a") "80 00 3a 01 87", OFPERR_OFPBMC_BAD_PREREQ}, /* icmpv6 on v4 */
        {ETH_IP "80 00 2a 02 00 01", OFPERR_OFPBMC_BAD_PREREQ},          /* arp_op on ip */
        {ETH_IP "80 00 34 10 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01",
         OFPERR_OFPBMC_BAD_PREREQ},                                      /* ipv6_src on ip */
        {ETH_IP6 PROTO("3a") "80 00 3a 01 80 80 00 3e 10 fe 80 00 00 00 00 00 00"
                             " 00 00 00 00 00 00 00 01",
         OFPERR_OFPBMC_BAD_PREREQ},                                      /* nd_target, echo */
        {ETH_IP6 PROTO("3a") "80 00 3a 01 88 80 00 40 06 02 00 00 00 00 01",
         OFPERR_OFPBMC_BAD_PREREQ},                                      /* nd_sll on NA */
        {ETH_IP6 PROTO("3a") "80 00 3a 01 87 80 00 42 06 02 00 00 00 00 01",
         OFPERR_OFPBMC_BAD_PREREQ},                                      /* nd_tll on NS */
        {ETH_IP "80 00 46 01 01", OFPERR_OFPBMC_BAD_PREREQ},             /* mpls_tc on ip */
        {ETH_IP "80 00 4a 03 00 00 01", OFPERR_OFPBMC_BAD_PREREQ},       /* pbb_isid on ip */
    };
    for (size_t i = 0; i < KK_ARRAY_SIZE(cases); i++) {
        enum ofp_err e = oxm(cases[i].hex);
        if (e != cases[i].err)
            fail_msg("case %zu '%s': got %s want %s", i, cases[i].hex, ofp_err_name(e),
                     ofp_err_name(cases[i].err));
    }
    /* the valid counterparts */
    static const char *good[] = {
        "",
        ETH_IP PROTO("06") "80 00 1a 02 00 50",
        ETH_IP6 PROTO("3a") "80 00 3a 01 87 80 00 3e 10 fe 80 00 00 00 00 00 00"
                            " 00 00 00 00 00 00 00 01 80 00 40 06 02 00 00 00 00 01",
        "80 00 0d 04 10 00 10 00 80 00 0e 01 07",   /* any tag with pcp 7 */
        "80 00 00 04 00 00 00 01 80 00 02 04 00 00 00 01",
        "80 00 0a 02 88 48 80 00 44 04 00 0f ff ff 80 00 46 01 07 80 00 48 01 01",
        "80 00 0a 02 88 e7 80 00 4b 06 00 00 01 00 00 ff",
        "80 00 4d 10 00 00 00 00 00 00 00 01 ff ff ff ff ff ff ff ff",  /* tunnel_id */
        "80 00 07 0c 01 00 00 00 00 00 01 00 00 00 00 00",              /* eth_dst mcast bit */
        ETH_ARP "80 00 2a 02 00 02 80 00 2d 08 0a 00 00 00 ff ff ff 00",
    };
    for (size_t i = 0; i < KK_ARRAY_SIZE(good); i++) {
        enum ofp_err e = oxm(good[i]);
        if (e != OFPERR_NONE)
            fail_msg("good %zu: %s", i, ofp_err_name(e));
    }
}

static void test_field_table(void **state)
{
    (void)state;
    static const unsigned lens[OFP_OXM_N_FIELDS] = {4, 4, 8, 6, 6, 2, 2, 1, 1, 1, 1, 4, 4, 2,
                                                    2, 2, 2, 2, 2, 1, 1, 2, 4, 4, 6, 6, 16, 16,
                                                    4, 1, 1, 16, 6, 6, 4, 1, 1, 3, 8, 2};
    unsigned total = 0;
    for (unsigned f = 0; f < OFP_OXM_N_FIELDS; f++) {
        assert_int_equal(ofp_oxm_field_len(f), lens[f]);
        assert_non_null(ofp_oxm_field_name(f));
        total += lens[f];
    }
    assert_true(total <= OFP_MATCH_BYTES);
    assert_int_equal(ofp_oxm_field_len(40), 0);
    assert_null(ofp_oxm_field_name(40));
    assert_true(ofp_oxm_field_maskable(OFPXMT_METADATA));
    assert_false(ofp_oxm_field_maskable(OFPXMT_ETH_TYPE));
    struct ofp_match_fields m;
    ofp_match_init(&m);
    assert_int_equal(ofp_match_set(&m, 40, "x", NULL), -EINVAL);
    assert_int_equal(ofp_match_set_uint(&m, OFPXMT_IPV6_SRC, 1, false, 0), -EINVAL);
    assert_false(ofp_match_get(&m, OFPXMT_IN_PORT, NULL, NULL));
    ofp_match_set_uint(&m, OFPXMT_IN_PORT, 5, false, 0);
    uint8_t v[4], k[4];
    assert_true(ofp_match_get(&m, OFPXMT_IN_PORT, v, k));
    assert_int_equal(v[3], 5);
    assert_int_equal(k[0], 0xff);
    ofp_match_clear(&m, OFPXMT_IN_PORT);
    struct ofp_match_fields empty;
    ofp_match_init(&empty);
    assert_memory_equal(&m, &empty, sizeof(m));
}

static void test_match10(void **state)
{
    (void)state;
    uint8_t b[40];
    struct ofp_match_fields m;
    /* everything wildcarded */
    hex("00 3f ff ff 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
        " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00", b, 40);
    assert_int_equal(ofp_match10_decode(b, 40, &m), OFPERR_NONE);
    assert_int_equal(m.present, 0);
    assert_int_equal(ofp_match10_decode(b, 39, &m), OFPERR_OFPBMC_BAD_LEN);
    /* nw_src/dst on a non-IP frame are dropped; tp on a non-TCP/UDP/ICMP proto too */
    hex("00 00 00 00 ff fe 00 00 00 00 00 01 00 00 00 00 00 02 ff ff 05 00 88 cc"
        " 00 00 00 00 0a 00 00 01 0a 00 00 02 00 01 00 02", b, 40);
    assert_int_equal(ofp_match10_decode(b, 40, &m), OFPERR_NONE);
    assert_int_equal(ofp_match_get_uint(&m, OFPXMT_IN_PORT), OFPP_LOCAL);
    assert_int_equal(ofp_match_get_uint(&m, OFPXMT_VLAN_VID), OFPVID_NONE);
    assert_false(m.present >> OFPXMT_VLAN_PCP & 1);
    assert_int_equal(ofp_match_get_uint(&m, OFPXMT_ETH_TYPE), 0x88cc);
    assert_false(m.present >> OFPXMT_IPV4_SRC & 1);
    assert_int_equal(ofp_match_validate(&m), OFPERR_NONE);
    /* ARP: nw_proto is the opcode, nw_src/dst the SPA/TPA with prefixes */
    hex("00 32 00 cf 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 08 06"
        " 00 02 00 00 0a 00 00 07 0a 00 00 09 00 00 00 00", b, 40);
    assert_int_equal(ofp_match10_decode(b, 40, &m), OFPERR_NONE);
    assert_int_equal(ofp_match_get_uint(&m, OFPXMT_ARP_OP), 2);
    assert_int_equal(ofp_match_get_uint(&m, OFPXMT_ARP_SPA), 0x0a000007);
    assert_int_equal(ofp_match_get_uint(&m, OFPXMT_ARP_TPA), 0x0a000000); /* /24 */
    assert_int_equal(ofp_match_get_uint_mask(&m, OFPXMT_ARP_TPA), 0xffffff00);
    uint8_t back[40];
    assert_int_equal(ofp_match10_encode(&m, back), OFPERR_NONE);
    struct ofp_match_fields m2;
    assert_int_equal(ofp_match10_decode(back, 40, &m2), OFPERR_NONE);
    assert_true(ofp_match_equal(&m, &m2));
    /* vlan wildcarded but pcp exact: "any tag with this pcp" */
    hex("00 2f ff ff 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 06 00 00 00"
        " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00", b, 40);
    assert_int_equal(ofp_match10_decode(b, 40, &m), OFPERR_NONE);
    assert_int_equal(ofp_match_get_uint(&m, OFPXMT_VLAN_VID), OFPVID_PRESENT);
    assert_int_equal(ofp_match_get_uint_mask(&m, OFPXMT_VLAN_VID), OFPVID_PRESENT);
    assert_int_equal(ofp_match_get_uint(&m, OFPXMT_VLAN_PCP), 6);
    assert_int_equal(ofp_match10_encode(&m, back), OFPERR_NONE);
    assert_int_equal(ofp_match10_decode(back, 40, &m2), OFPERR_NONE);
    assert_true(ofp_match_equal(&m, &m2));
    /* dl_vlan above 4095 (not 0xffff) */
    hex("00 3f ff fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 10 00 00 00 00 00"
        " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00", b, 40);
    assert_int_equal(ofp_match10_decode(b, 40, &m), OFPERR_OFPBMC_BAD_VALUE);

    /* what 1.0 cannot say */
    static const uint8_t mac[6] = {1, 2, 3, 4, 5, 6}, mmask[6] = {0xff, 0, 0, 0, 0, 0};
    ofp_match_init(&m);
    ofp_match_set(&m, OFPXMT_ETH_SRC, mac, mmask);
    assert_int_equal(ofp_match10_encode(&m, back), OFPERR_OFPBMC_BAD_WILDCARDS);
    ofp_match_init(&m);
    ofp_match_set(&m, OFPXMT_ETH_SRC, (const uint8_t[6]){1, 0, 0, 0, 0, 0}, mmask);
    assert_int_equal(ofp_match10_encode(&m, back), OFPERR_OFPBMC_BAD_DL_ADDR_MASK);
    ofp_match_init(&m);
    ofp_match_set_uint(&m, OFPXMT_ETH_TYPE, 0x0800, false, 0);
    ofp_match_set_uint(&m, OFPXMT_IPV4_SRC, 0x0a000001, true, 0xff0000ff);
    assert_int_equal(ofp_match10_encode(&m, back), OFPERR_OFPBMC_BAD_NW_ADDR_MASK);
    ofp_match_set_uint(&m, OFPXMT_IPV4_SRC, 0x0a000000, true, 0xfffffe00);
    assert_int_equal(ofp_match10_encode(&m, back), OFPERR_NONE);
    assert_int_equal((back[2] << 8 | back[3]) >> 8 & 0x3f, 9);
    ofp_match_set_uint(&m, OFPXMT_IP_ECN, 1, false, 0);
    assert_int_equal(ofp_match10_encode(&m, back), OFPERR_OFPBMC_BAD_FIELD);
    ofp_match_init(&m);
    ofp_match_set_uint(&m, OFPXMT_VLAN_VID, OFPVID_PRESENT, true, OFPVID_PRESENT);
    assert_int_equal(ofp_match10_encode(&m, back), OFPERR_OFPBMC_BAD_MASK);
    ofp_match_init(&m);
    ofp_match_set_uint(&m, OFPXMT_IN_PORT, 0x10000, false, 0);
    assert_int_equal(ofp_match10_encode(&m, back), OFPERR_OFPBMC_BAD_VALUE);
    ofp_match_init(&m);
    ofp_match_set_uint(&m, OFPXMT_TCP_DST, 80, false, 0);
    assert_int_equal(ofp_match10_encode(&m, back), OFPERR_OFPBMC_BAD_PREREQ);
}

/* Random valid matches: set fields with their prerequisites and random
 * values/masks, then OXM encode -> decode must give the same struct. */
static void test_random_round_trips(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed;
    for (int iter = 0; iter < 3000; iter++) {
        struct ofp_match_fields m;
        ofp_match_init(&m);
        uint64_t r = kk_test_rand(&seed);
        static const uint16_t types[] = {0x0800, 0x86dd, 0x0806, 0x8847, 0x88e7, 0x88cc};
        uint16_t et = types[r % 6];
        if (r & 8)
            ofp_match_set_uint(&m, OFPXMT_ETH_TYPE, et, false, 0);
        if (r & 16)
            ofp_match_set_uint(&m, OFPXMT_IN_PORT, (uint32_t)kk_test_rand(&seed), false, 0);
        if (r & 32) {
            uint64_t md = kk_test_rand(&seed), mk = kk_test_rand(&seed);
            ofp_match_set_uint(&m, OFPXMT_METADATA, md & mk, true, mk);
        }
        if (r & 64)
            ofp_match_set_uint(&m, OFPXMT_VLAN_VID, OFPVID_PRESENT | (r >> 20 & 0xfff), false,
                               0);
        if ((r & 64) && (r & 128))
            ofp_match_set_uint(&m, OFPXMT_VLAN_PCP, r >> 40 & 7, false, 0);
        if ((r & 8) && (et == 0x0800 || et == 0x86dd)) {
            static const uint8_t protos[] = {6, 17, 132, 1, 58, 47};
            uint8_t proto = protos[(r >> 12) % 6];
            ofp_match_set_uint(&m, OFPXMT_IP_PROTO, proto, false, 0);
            ofp_match_set_uint(&m, OFPXMT_IP_DSCP, r >> 50 & 63, false, 0);
            uint16_t port = (uint16_t)(r >> 24);
            if (proto == 6)
                ofp_match_set_uint(&m, OFPXMT_TCP_DST, port, false, 0);
            if (proto == 17)
                ofp_match_set_uint(&m, OFPXMT_UDP_SRC, port, false, 0);
            if (proto == 132)
                ofp_match_set_uint(&m, OFPXMT_SCTP_DST, port, false, 0);
            if (proto == 1 && et == 0x0800)
                ofp_match_set_uint(&m, OFPXMT_ICMPV4_CODE, port & 0xff, false, 0);
            if (proto == 58 && et == 0x86dd)
                ofp_match_set_uint(&m, OFPXMT_ICMPV6_TYPE, 135, false, 0);
            if (et == 0x0800) {
                uint32_t mk = (uint32_t)kk_test_rand(&seed);
                ofp_match_set_uint(&m, OFPXMT_IPV4_DST, (uint32_t)r & mk, true, mk);
            } else {
                uint8_t a[16], k[16];
                for (int i = 0; i < 16; i++) {
                    k[i] = (uint8_t)kk_test_rand(&seed);
                    a[i] = (uint8_t)kk_test_rand(&seed) & k[i];
                }
                ofp_match_set(&m, OFPXMT_IPV6_SRC, a, k);
            }
        }
        assert_int_equal(ofp_match_validate(&m), OFPERR_NONE);
        size_t n = ofp_oxm_encoded_len(&m);
        uint8_t *buf = malloc(n ? n : 1);
        assert_int_equal(ofp_oxm_encode(&m, buf), n);
        struct ofp_match_fields back;
        assert_int_equal(ofp_oxm_decode(buf, n, &back), OFPERR_NONE);
        assert_true(ofp_match_equal(&m, &back));
        assert_memory_equal(&m, &back, sizeof(m));
        free(buf);
        /* and through 1.0 when it can be said there */
        uint8_t b10[40];
        if (ofp_match10_encode(&m, b10) == OFPERR_NONE) {
            assert_int_equal(ofp_match10_decode(b10, 40, &back), OFPERR_NONE);
            assert_true(ofp_match_equal(&m, &back));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oxm_refuses),
        cmocka_unit_test(test_field_table),
        cmocka_unit_test(test_match10),
        cmocka_unit_test(test_random_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
