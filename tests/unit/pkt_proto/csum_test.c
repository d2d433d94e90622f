/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checksums: published vectors, the fast sum against a naive word-by-word
 * reference on random buffers, verification of parsed frames (including
 * every refusal), and RFC 1624 incremental updates against full
 * recomputation over many random rewrites.
 */
#include <errno.h>

#include "kk_common.h"
#include "kk_test.h"
#include "pkt_build.h"
#include "pkt_csum.h"
#include "pkt_proto.h"

static void test_verify_refusals(void **state)
{
    struct bld b;
    struct pkt_flow f = {0};
    struct pkt_layout lay;

    /* ARP: neither an IPv4 header nor an L4 checksum. */
    b_init(&b);
    b_eth(&b, PKT_ETH_TYPE_ARP);
    b_arp(&b, 1);
    pkt_parse(b.b, b.n, &f, &lay);
    assert_int_equal(pkt_ipv4_csum_verify(b.b, b.n, &lay), -ENOENT);
    assert_int_equal(pkt_l4_csum_verify(b.b, b.n, &lay), -ENOENT);
    assert_int_equal(pkt_l4_csum_set(b.b, b.n, &lay), -ENOENT);
    assert_int_equal(pkt_ipv4_csum_set(b.b, b.n, &lay), -ENOENT);

    /* A first fragment's checksum covers the reassembled datagram. */
    b_init(&b);
    b_eth(&b, PKT_ETH_TYPE_IPV4);
    b_ipv4(&b, PKT_IPPROTO_UDP, PKT_IPV4_MF, NULL, 0);
    b_udp(&b, 1, 2);
    b_payload(&b, 8);
    b_finish(&b);
    pkt_parse(b.b, b.n, &f, &lay);
    assert_int_equal(pkt_ipv4_csum_verify(b.b, b.n, &lay), 0);
    assert_int_equal(pkt_l4_csum_verify(b.b, b.n, &lay), -EAGAIN);
    assert_int_equal(pkt_l4_csum_set(b.b, b.n, &lay), -EAGAIN);

    /* A later fragment has no L4 header at all. */
    pkt_put16(b.b + 20, 1);
    pkt_put16(b.b + 24, 0);
    pkt_put16(b.b + 24, pkt_ipv4_hdr_csum(b.b + 14, 20));
    pkt_parse(b.b, b.n, &f, &lay);
    assert_int_equal(lay.nw_frag, PKT_FRAG_LATER);
    assert_int_equal(pkt_ipv4_csum_verify(b.b, b.n, &lay), 0);
    assert_int_equal(pkt_l4_csum_verify(b.b, b.n, &lay), -ENOENT);

    /* A datagram that is not all in the buffer cannot be checked. */
    b_init(&b);
    b_eth(&b, PKT_ETH_TYPE_IPV4);
    b_ipv4(&b, PKT_IPPROTO_TCP, 0, NULL, 0);
    b_tcp(&b, 1, 2, PKT_TCP_SYN, 0);
    b_payload(&b, 30);
    b_finish(&b);
    pkt_parse(b.b, b.n - 1, &f, &lay);
    assert_int_equal(lay.status, PKT_TRUNCATED);
    assert_int_equal(pkt_l4_csum_verify(b.b, b.n - 1, &lay), -EINVAL);
    assert_int_equal(pkt_l4_csum_set(b.b, b.n - 1, &lay), -EINVAL);
    assert_int_equal(pkt_ipv4_csum_verify(b.b, b.n - 1, &lay), 0);
    /* Nor can a layout whose offsets lie outside the given length. */
    pkt_parse(b.b, b.n, &f, &lay);
    assert_int_equal(pkt_l4_csum_verify(b.b, 40, &lay), -EINVAL);
    assert_int_equal(pkt_ipv4_csum_verify(b.b, 20, &lay), -ENOENT);

    /* IPv6 with a routing header still to be processed. */
    b_init(&b);
    b_eth(&b, PKT_ETH_TYPE_IPV6);
    b_ipv6(&b, PKT_IPPROTO_ROUTING);
    b_ext(&b, PKT_IPPROTO_ROUTING, PKT_IPPROTO_UDP, 24);
    b_udp(&b, 1, 2);
    b_finish(&b);
    pkt_parse(b.b, b.n, &f, &lay);
    assert_int_equal(pkt_l4_csum_verify(b.b, b.n, &lay), 0);
    b.b[54 + 3] = 1; /* segments left */
    assert_int_equal(pkt_l4_csum_verify(b.b, b.n, &lay), -ENOTSUP);
}

static void test_known_vectors(void **state)
{
    /* RFC 1071 section 3: the sum of these bytes is 0xddf2. */
    static const uint8_t rfc1071[8] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    assert_int_equal(pkt_csum(rfc1071, 8), (uint16_t)~0xddf2);
    assert_int_equal(pkt_csum_finish(pkt_csum_add(pkt_csum_add(0, rfc1071, 4), rfc1071 + 4, 4)),
                     (uint16_t)~0xddf2);

    /* A well-known IPv4 header (UDP, 192.168.0.1 -> 192.168.0.199). */
    static const uint8_t ip[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                   0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    assert_int_equal(pkt_ipv4_hdr_csum(ip, 20), 0xb861);
    assert_int_equal(pkt_csum(ip, 20), 0);

    /* Edges: nothing sums to 0 (checksum 0xffff); an odd byte is the high
     * half of a word. */
    assert_int_equal(pkt_csum(NULL, 0), 0xffff);
    static const uint8_t one = 0x01;
    assert_int_equal(pkt_csum(&one, 1), 0xfeff);
    static const uint8_t ff[64] = {[0 ... 63] = 0xff};
    assert_int_equal(pkt_csum(ff, 64), 0x0000);

    /* TTL 64 -> 63 in that header, incrementally (RFC 1624's own case). */
    uint16_t c = pkt_csum_update16(0xb861, 0x4011, 0x3f11);
    uint8_t ip2[20];
    memcpy(ip2, ip, 20);
    ip2[8] = 0x3f;
    assert_int_equal(c, pkt_ipv4_hdr_csum(ip2, 20));
    assert_int_equal(c, 0xb961);

    /* UDP's zero rule. */
    assert_int_equal(pkt_udp_csum_fixup(0, 0x1234), 0);
    assert_int_equal(pkt_udp_csum_fixup(0x1111, 0), 0xffff);
    assert_int_equal(pkt_udp_csum_fixup(0x1111, 0x2222), 0x2222);
}

/* The 64-bit accumulating sum against the naive one, at every alignment,
 * for lengths that exercise each tail, chained in even-sized pieces. */
static void test_sum_matches_reference(void **state)
{
    static uint8_t buf[9000 + 16];
    uint64_t rng = 1;
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)kk_test_rand(&rng);
    for (int iter = 0; iter < 20000; iter++) {
        size_t off = kk_test_rand(&rng) % 16;
        size_t len = iter < 200 ? (size_t)iter : kk_test_rand(&rng) % 9000;
        if (iter % 97 == 0)
            memset(buf + off, 0xff, len); /* all ones: the carry-heavy case */
        uint16_t want = ref_fold(ref_sum(0, buf + off, len));
        assert_int_equal(pkt_csum(buf + off, len), want);
        size_t split = len ? (kk_test_rand(&rng) % len) & ~(size_t)1 : 0;
        uint32_t sum = pkt_csum_add(0, buf + off, split);
        sum = pkt_csum_add(sum, buf + off + split, len - split);
        assert_int_equal(pkt_csum_finish(sum), want);
        if (iter % 97 == 0)
            for (size_t i = 0; i < len; i++)
                buf[off + i] = (uint8_t)kk_test_rand(&rng);
    }
}

static void test_pseudo_headers(void **state)
{
    uint64_t rng = 2;
    for (int iter = 0; iter < 1000; iter++) {
        uint8_t ph[40];
        for (int i = 0; i < 40; i++)
            ph[i] = (uint8_t)kk_test_rand(&rng);
        uint8_t proto = (uint8_t)kk_test_rand(&rng);
        uint32_t len = (uint32_t)(kk_test_rand(&rng) % 70000);
        /* IPv4: src, dst, zero, proto, 16-bit length. */
        uint8_t v4[12];
        memcpy(v4, ph, 8);
        v4[8] = 0;
        v4[9] = proto;
        pkt_put16(v4 + 10, (uint16_t)len);
        assert_int_equal(pkt_csum_finish(pkt_ipv4_pseudo_sum(pkt_get32(ph), pkt_get32(ph + 4),
                                                             proto, (uint16_t)len)),
                         ref_fold(ref_sum(0, v4, 12)));
        /* IPv6: src, dst, 32-bit length, three zeros, next header. */
        uint8_t v6[40];
        memcpy(v6, ph, 32);
        pkt_put32(v6 + 32, len);
        v6[36] = v6[37] = v6[38] = 0;
        v6[39] = proto;
        assert_int_equal(pkt_csum_finish(pkt_ipv6_pseudo_sum(ph, ph + 16, proto, len)),
                         ref_fold(ref_sum(0, v6, 40)));
    }
}

/* Frames of each L4 kind, built with reference checksums. */
static void build_l4(struct bld *b, int ip, int kind, uint32_t payload)
{
    b_init(b);
    b_eth(b, ip == 4 ? PKT_ETH_TYPE_IPV4 : PKT_ETH_TYPE_IPV6);
    uint8_t proto = kind == PKT_LAYER_TCP    ? PKT_IPPROTO_TCP
                    : kind == PKT_LAYER_UDP  ? PKT_IPPROTO_UDP
                    : kind == PKT_LAYER_SCTP ? PKT_IPPROTO_SCTP
                    : ip == 4                ? PKT_IPPROTO_ICMP
                                             : PKT_IPPROTO_ICMPV6;
    if (ip == 4)
        b_ipv4(b, proto, 0, NULL, 0);
    else
        b_ipv6(b, proto);
    if (kind == PKT_LAYER_TCP)
        b_tcp(b, 1234, 80, PKT_TCP_ACK, 8);
    else if (kind == PKT_LAYER_UDP)
        b_udp(b, 1234, 53);
    else if (kind == PKT_LAYER_SCTP)
        b_sctp(b, 1234, 2905);
    else
        b_icmp(b, ip == 4 ? 8 : 128, 0, 0x00070001);
    b_payload(b, payload);
    b_finish(b);
}

static const int kinds[] = {PKT_LAYER_TCP, PKT_LAYER_UDP, PKT_LAYER_SCTP, PKT_LAYER_ICMP};

static void test_verify_and_set(void **state)
{
    uint64_t rng = 3;
    unsigned checked = 0;
    for (int ip = 4; ip <= 6; ip += 2) {
        for (size_t k = 0; k < KK_ARRAY_SIZE(kinds); k++) {
            for (uint32_t payload = 0; payload < 40; payload += 3) {
                struct bld b;
                build_l4(&b, ip, kinds[k], payload);
                struct pkt_flow f;
                struct pkt_layout lay;
                assert_int_equal(pkt_parse(b.b, b.n, &f, &lay), PKT_OK);
                if (ip == 4)
                    assert_int_equal(pkt_ipv4_csum_verify(b.b, b.n, &lay), 0);
                assert_int_equal(pkt_l4_csum_verify(b.b, b.n, &lay), 0);

                /* Recomputing reproduces the reference bytes exactly. */
                uint8_t copy[2048];
                memcpy(copy, b.b, b.n);
                memset(copy + lay.l4_ofs + (kinds[k] == PKT_LAYER_TCP    ? 16
                                            : kinds[k] == PKT_LAYER_UDP  ? 6
                                            : kinds[k] == PKT_LAYER_SCTP ? 8
                                                                         : 2),
                       0xa5, 2);
                assert_int_equal(pkt_l4_csum_set(copy, b.n, &lay), 0);
                if (ip == 4) {
                    copy[lay.l3_ofs + 10] ^= 0x5a;
                    assert_int_equal(pkt_ipv4_csum_verify(copy, b.n, &lay), -EBADMSG);
                    assert_int_equal(pkt_ipv4_csum_set(copy, b.n, &lay), 0);
                }
                assert_memory_equal(copy, b.b, b.n);

                /* Any single changed byte of the datagram is caught. */
                for (int t = 0; t < 8; t++) {
                    uint32_t at = lay.l4_ofs + (uint32_t)(kk_test_rand(&rng) % (b.n - lay.l4_ofs));
                    uint8_t flip = (uint8_t)(1 + kk_test_rand(&rng) % 255);
                    memcpy(copy, b.b, b.n);
                    copy[at] ^= flip;
                    int rc = pkt_l4_csum_verify(copy, b.n, &lay);
                    bool udp_field = kinds[k] == PKT_LAYER_UDP && at >= lay.l4_ofs + 6 &&
                                     at < lay.l4_ofs + 8 && pkt_get16(copy + lay.l4_ofs + 6) == 0;
                    /* (A UDP length now past the datagram is no longer
                     * the layout's frame: -EINVAL.) */
                    bool udp_len = kinds[k] == PKT_LAYER_UDP && at >= lay.l4_ofs + 4 &&
                                   at < lay.l4_ofs + 6 &&
                                   pkt_get16(copy + lay.l4_ofs + 4) > b.n - lay.l4_ofs;
                    if (udp_field)
                        assert_int_equal(rc, ip == 4 ? 1 : -EBADMSG);
                    else if (udp_len)
                        assert_int_equal(rc, -EINVAL);
                    else
                        assert_int_equal(rc, -EBADMSG);
                    checked++;
                }
                /* The pseudo-header counts: a changed address is caught
                 * (ICMPv4 and SCTP have none). */
                memcpy(copy, b.b, b.n);
                copy[lay.l3_ofs + (ip == 4 ? 15 : 23)] ^= 1;
                int rc = pkt_l4_csum_verify(copy, b.n, &lay);
                if (kinds[k] == PKT_LAYER_SCTP || (ip == 4 && kinds[k] == PKT_LAYER_ICMP))
                    assert_int_equal(rc, 0);
                else
                    assert_int_equal(rc, -EBADMSG);
            }
        }
    }
    printf("# %u corruptions detected\n", checked);
}

static void test_udp_zero_rules(void **state)
{
    struct bld b;
    struct pkt_flow f;
    struct pkt_layout lay;
    for (int ip = 4; ip <= 6; ip += 2) {
        build_l4(&b, ip, PKT_LAYER_UDP, 10);
        pkt_parse(b.b, b.n, &f, &lay);
        uint8_t *udp = b.b + lay.l4_ofs;
        /* Zero: "no checksum" over IPv4, invalid over IPv6. */
        pkt_put16(udp + 6, 0);
        assert_int_equal(pkt_l4_csum_verify(b.b, b.n, &lay), ip == 4 ? 1 : -EBADMSG);
        /* Make the true checksum come out as 0: set_csum must send 0xffff. */
        uint32_t last = b.n - 2;
        pkt_put16(b.b + last, 0);
        uint32_t sum = ip == 4 ? pkt_ipv4_pseudo_sum(pkt_get32(b.b + lay.l3_ofs + 12),
                                                     pkt_get32(b.b + lay.l3_ofs + 16), 17,
                                                     b.n - lay.l4_ofs)
                               : pkt_ipv6_pseudo_sum(b.b + lay.l3_ofs + 8, b.b + lay.l3_ofs + 24,
                                                     17, b.n - lay.l4_ofs);
        sum = pkt_csum_add(sum, udp, b.n - lay.l4_ofs);
        pkt_put16(b.b + last, pkt_csum_finish(sum));
        assert_int_equal(pkt_l4_csum_set(b.b, b.n, &lay), 0);
        assert_int_equal(pkt_get16(udp + 6), 0xffff);
        assert_int_equal(pkt_l4_csum_verify(b.b, b.n, &lay), 0);
        assert_int_equal(ref_l4_csum(&b), 0);
    }
}

static void test_sctp_crc(void **state)
{
    uint64_t rng = 4;
    uint8_t buf[600];
    for (int iter = 0; iter < 300; iter++) {
        size_t len = PKT_SCTP_HDR_LEN + kk_test_rand(&rng) % (sizeof(buf) - PKT_SCTP_HDR_LEN);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)kk_test_rand(&rng);
        uint32_t crc = pkt_sctp_csum(buf, len);
        uint8_t copy[600];
        memcpy(copy, buf, len);
        memset(copy + 8, 0, 4);
        assert_int_equal(crc, ref_crc32c(copy, len));
        pkt_sctp_csum_store(buf, crc);
        assert_int_equal(pkt_sctp_csum_load(buf), crc);
        assert_int_equal(buf[8], (uint8_t)crc); /* least significant byte first */
        assert_int_equal(pkt_sctp_csum(buf, len), crc);
    }
}

/* RFC 1624: incremental updates give exactly the full recomputation. */
static void test_incremental_equals_full(void **state)
{
    uint64_t rng = 5;
    uint8_t buf[1500];
    unsigned updates = 0;
    for (int round = 0; round < 50; round++) {
        size_t len = 20 + 2 * (kk_test_rand(&rng) % 740);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)kk_test_rand(&rng);
        if (round % 10 == 0)
            memset(buf, round % 20 ? 0xff : 0x00, len / 2); /* extremes */
        buf[0] |= 1; /* never all zero: the one input where 0 and 0xffff differ */
        uint16_t csum = pkt_csum(buf, len);
        for (int i = 0; i < 400; i++, updates++) {
            size_t at = 2 * (kk_test_rand(&rng) % (len / 2));
            uint64_t r = kk_test_rand(&rng);
            switch (r % 4) {
            case 0: {
                uint16_t old = pkt_get16(buf + at), nw = (uint16_t)(r >> 8);
                if ((r >> 40) % 8 == 0)
                    nw = (uint16_t)~old; /* complement: the all-ones sum case */
                pkt_put16(buf + at, nw);
                csum = pkt_csum_update16(csum, old, nw);
                break;
            }
            case 1:
                if (at + 4 > len)
                    at = len - 4;
                {
                    uint32_t old = pkt_get32(buf + at), nw = (uint32_t)(r >> 16);
                    pkt_put32(buf + at, nw);
                    csum = pkt_csum_update32(csum, old, nw);
                }
                break;
            case 2:
                if (at + 16 > len)
                    at = len - 16;
                {
                    uint8_t old[16], nw[16];
                    memcpy(old, buf + at, 16);
                    for (int j = 0; j < 16; j++)
                        nw[j] = (uint8_t)kk_test_rand(&rng);
                    memcpy(buf + at, nw, 16);
                    csum = pkt_csum_update_bytes(csum, old, nw, 16);
                }
                break;
            default: {
                /* The byte-order claim: host-order words work as well. */
                uint16_t old, nw = (uint16_t)(r >> 24);
                memcpy(&old, buf + at, 2);
                memcpy(buf + at, &nw, 2);
                uint16_t c_native = __builtin_bswap16(csum);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                csum = __builtin_bswap16(pkt_csum_update16(c_native, old, nw));
#else
                csum = pkt_csum_update16(csum, old, nw);
                (void)c_native;
#endif
                break;
            }
            }
            if (csum != pkt_csum(buf, len))
                fail_msg("round %d update %d: incremental %#x, full %#x", round, i, csum,
                         pkt_csum(buf, len));
        }
    }
    printf("# %u incremental updates matched full recomputation\n", updates);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_refusals),
        cmocka_unit_test(test_known_vectors),
        cmocka_unit_test(test_sum_matches_reference),
        cmocka_unit_test(test_pseudo_headers),
        cmocka_unit_test(test_verify_and_set),
        cmocka_unit_test(test_udp_zero_rules),
        cmocka_unit_test(test_sctp_crc),
        cmocka_unit_test(test_incremental_equals_full),
    };
    return cmocka_run_group_tests_name("pkt_csum", tests, NULL, NULL);
}
