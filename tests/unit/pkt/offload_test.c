/* SPDX-License-Identifier: Apache-2.0 */
/* Offloads finished in software: partial checksums, TCP segmentation. */
#include "kk_test.h"
#include "pkt.h"
#include "pkt_build.h"
#include "pkt_csum.h"

/* A TCP frame with @payload bytes, as a guest's TSO hands it over: the IP
 * length covers everything, checksums left to offload. */
static struct pkt_buf *tso_frame(struct pkt_pool *pool, bool v6, uint32_t payload, uint16_t mss,
                                 uint8_t tcp_flags, uint8_t *whole, uint32_t *whole_len)
{
    struct bld b;
    b_init(&b);
    b_eth(&b, v6 ? 0x86dd : 0x0800);
    if (v6)
        b_ipv6(&b, PKT_IPPROTO_TCP);
    else
        b_ipv4(&b, PKT_IPPROTO_TCP, 0x4000 /* DF */, NULL, 0);
    b_tcp(&b, 40000, 5201, tcp_flags, 12);
    uint32_t hdr = b.n, len = hdr + payload;
    memcpy(whole, b.b, hdr);
    for (uint32_t i = 0; i < payload; i++)
        whole[hdr + i] = (uint8_t)(i * 13 + i / 256);
    if (v6)
        pkt_put16(whole + b.l3 + 4, (uint16_t)(len - b.l3 - 40));
    else
        pkt_put16(whole + b.l3 + 2, (uint16_t)(len - b.l3));
    *whole_len = len;
    struct pkt_buf *p = pkt_from_bytes(pool, whole, len);
    if (!p)
        return NULL;
    p->ol_flags = PKT_OL_GSO | PKT_OL_CSUM_PARTIAL;
    p->gso_type = v6 ? PKT_GSO_TCPV6 : PKT_GSO_TCPV4;
    p->gso_size = mss;
    p->csum_start = (uint16_t)b.l4;
    p->csum_offset = 16;
    p->hdr_len = (uint16_t)hdr;
    return p;
}

static void check_segments(bool v6, uint32_t payload, uint16_t mss)
{
    struct pkt_pool *pool;
    assert_int_equal(pkt_pool_create("t", 512, 0, 0, &pool), 0);
    static uint8_t whole[70000];
    uint32_t whole_len;
    struct pkt_buf *p = tso_frame(pool, v6, payload, mss, 0x18 /* PSH|ACK */ | 0x01 /* FIN */,
                                  whole, &whole_len);
    if (!p) {
        fail_msg("no frame");
        return;
    }
    struct pkt_buf *out[PKT_GSO_MAX_SEGS];
    int n = pkt_offload_finish(p, pool, out, PKT_GSO_MAX_SEGS);
    uint32_t want = (payload + mss - 1) / mss;
    assert_int_equal(n, want);
    struct pkt_flow flow;
    struct pkt_layout lay;
    pkt_parse(whole, whole_len, &flow, &lay);
    uint32_t hdr = lay.payload_ofs, got = 0;
    uint32_t seq0 = pkt_get32(whole + lay.l4_ofs + 4);
    for (int i = 0; i < n; i++) {
        uint8_t seg[2048];
        uint32_t len = out[i]->pkt_len;
        assert_true(len <= sizeof(seg));
        assert_int_equal(pkt_read(out[i], 0, seg, len), len);
        struct pkt_layout sl;
        assert_int_equal(pkt_parse(seg, len, &flow, &sl), PKT_OK);
        /* Headers valid and complete on their own. */
        if (!v6) {
            assert_int_equal(pkt_ipv4_csum_verify(seg, len, &sl), 0);
            assert_int_equal(pkt_get16(seg + sl.l3_ofs + 4), 0x1234 + i);
        }
        assert_int_equal(pkt_l4_csum_verify(seg, len, &sl), 0);
        assert_int_equal(sl.ip_end, len);
        assert_int_equal(pkt_get32(seg + sl.l4_ofs + 4), seq0 + (uint32_t)i * mss);
        uint8_t flags = seg[sl.l4_ofs + 13];
        bool last = i + 1 == n;
        assert_int_equal(!!(flags & 0x01), last); /* FIN */
        assert_int_equal(!!(flags & 0x08), last); /* PSH */
        assert_true(flags & 0x10);                /* ACK everywhere */
        /* The payload continues where the previous segment ended. */
        uint32_t part = len - hdr;
        assert_int_equal(part, last ? payload - got : mss);
        assert_memory_equal(seg + hdr, whole + hdr + got, part);
        got += part;
        assert_int_equal(out[i]->ol_flags & (PKT_OL_GSO | PKT_OL_CSUM_PARTIAL), 0);
    }
    assert_int_equal(got, payload);
    pkt_free_bulk(out, (uint32_t)n);
    pkt_pool_flush_thread_cache(pool);
    assert_int_equal(pkt_pool_avail(pool), 512);
    pkt_pool_destroy(pool);
}

static void test_tso_ipv4(void **state)
{
    check_segments(false, 64000, 1448);
    check_segments(false, 1000, 1448); /* one segment */
    check_segments(false, 2896, 1448); /* exact multiple */
}

static void test_tso_ipv6(void **state)
{
    check_segments(true, 30001, 1428);
}

static void test_partial_checksum_is_finished(void **state)
{
    struct pkt_pool *pool;
    assert_int_equal(pkt_pool_create("t", 64, 256, 0, &pool), 0);
    for (int udp = 0; udp < 2; udp++) {
        struct bld b;
        b_init(&b);
        b_eth(&b, 0x0800);
        b_ipv4(&b, udp ? PKT_IPPROTO_UDP : PKT_IPPROTO_TCP, 0, NULL, 0);
        if (udp)
            b_udp(&b, 53, 5353);
        else
            b_tcp(&b, 1, 2, 0x10, 0);
        b_payload(&b, 700); /* spans segments of 256 + 384 bytes */
        b_finish(&b);
        uint8_t want[2];
        uint32_t field = b.l4 + (udp ? 6 : 16);
        memcpy(want, b.b + field, 2);
        /* What a sender leaves to offload: the pseudo-header sum, folded. */
        struct pkt_flow flow;
        struct pkt_layout lay;
        pkt_parse(b.b, b.n, &flow, &lay);
        uint32_t l4len = b.n - b.l4;
        uint32_t ps = pkt_ipv4_pseudo_sum(B_IP4_SRC, B_IP4_DST, b.l4_proto, l4len);
        ps = (ps & 0xffff) + (ps >> 16);
        ps = (ps & 0xffff) + (ps >> 16);
        pkt_put16(b.b + field, (uint16_t)ps);
        struct pkt_buf *p = pkt_from_bytes(pool, b.b, b.n);
        if (!p) {
            fail_msg("no packet");
            return;
        }
        assert_true(p->nb_segs > 1);
        p->ol_flags = PKT_OL_CSUM_PARTIAL;
        p->csum_start = (uint16_t)b.l4;
        p->csum_offset = (uint16_t)(udp ? 6 : 16);
        struct pkt_buf *out[4];
        assert_int_equal(pkt_offload_finish(p, pool, out, 4), 1);
        uint8_t got[2];
        assert_int_equal(pkt_read(out[0], field, got, 2), 2);
        assert_memory_equal(got, want, 2);
        assert_int_equal(out[0]->ol_flags & PKT_OL_CSUM_PARTIAL, 0);
        pkt_free(out[0]);
    }
    pkt_pool_destroy(pool);
}

static void test_refusals(void **state)
{
    struct pkt_pool *pool;
    assert_int_equal(pkt_pool_create("t", 256, 0, 0, &pool), 0);
    static uint8_t whole[70000];
    uint32_t len;
    struct pkt_buf *out[PKT_GSO_MAX_SEGS];
    /* More segments than room for. */
    struct pkt_buf *p = tso_frame(pool, false, 20000, 1000, 0x10, whole, &len);
    assert_int_equal(pkt_offload_finish(p, pool, out, 4), -ENOSPC);
    /* A checksum offset past the end. */
    p = tso_frame(pool, false, 100, 1000, 0x10, whole, &len);
    p->ol_flags = PKT_OL_CSUM_PARTIAL;
    p->csum_start = 120;
    p->csum_offset = 60;
    assert_int_equal(pkt_offload_finish(p, pool, out, 4), -EINVAL);
    /* Segmentation of something that is not TCP. */
    uint8_t junk[200] = {0};
    p = pkt_from_bytes(pool, junk, sizeof(junk));
    p->ol_flags = PKT_OL_GSO | PKT_OL_CSUM_PARTIAL;
    p->gso_size = 50;
    p->csum_start = 20;
    p->csum_offset = 6;
    assert_int_equal(pkt_offload_finish(p, pool, out, 8), -ENOTSUP);
    /* Nothing leaked on any of those paths. */
    pkt_pool_flush_thread_cache(pool);
    assert_int_equal(pkt_pool_avail(pool), 256);
    pkt_pool_destroy(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tso_ipv4),
        cmocka_unit_test(test_tso_ipv6),
        cmocka_unit_test(test_partial_checksum_is_finished),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests_name("pkt offloads", tests, NULL, NULL);
}
