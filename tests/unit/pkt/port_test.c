/* SPDX-License-Identifier: Apache-2.0 */
/* Port specs, the ring port, virtio-net header checks. */
#include "kk_test.h"
#include "port.h"
#include "port_internal.h"

static void test_spec_parsing(void **state)
{
    struct pkt_spec s;
    char err[256];
    assert_int_equal(pkt_spec_parse("tap:name=tap0,vnet_hdr=1", &s, err, sizeof(err)), 0);
    assert_string_equal(s.type, "tap");
    assert_int_equal(s.n, 2);
    assert_string_equal(pkt_spec_get(&s, "name"), "tap0");
    assert_string_equal(pkt_spec_get(&s, "vnet_hdr"), "1");
    assert_null(pkt_spec_get(&s, "nope"));
    assert_int_equal(pkt_spec_parse("pcap:rx=a\\,b.pcap", &s, err, sizeof(err)), 0);
    assert_string_equal(pkt_spec_get(&s, "rx"), "a,b.pcap");
    assert_int_equal(pkt_spec_parse("ring", &s, err, sizeof(err)), 0);
    assert_int_equal(s.n, 0);

    static const char *const bad[] = {
        "", ":name=x", "tap:name", "tap:=x", "tap:name=a,name=b", "tap:a=1,b",
        "averyveryveryveryverylongtypename:x=1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        assert_int_equal(pkt_spec_parse(bad[i], &s, err, sizeof(err)), -EINVAL);
        assert_true(strlen(err) > 0);
    }
    uint64_t v;
    assert_int_equal(pkt_spec_parse("x:n=12,m=abc,o=-1", &s, err, sizeof(err)), 0);
    assert_int_equal(pkt_spec_get_uint(&s, "n", 0, 0, 100, &v, err, sizeof(err)), 0);
    assert_int_equal(v, 12);
    assert_int_equal(pkt_spec_get_uint(&s, "absent", 5, 0, 100, &v, err, sizeof(err)), 0);
    assert_int_equal(v, 5);
    assert_int_equal(pkt_spec_get_uint(&s, "n", 0, 0, 10, &v, err, sizeof(err)), -EINVAL);
    assert_int_equal(pkt_spec_get_uint(&s, "m", 0, 0, 10, &v, err, sizeof(err)), -EINVAL);
    assert_int_equal(pkt_spec_get_uint(&s, "o", 0, 0, 10, &v, err, sizeof(err)), -EINVAL);
}

static void test_open_errors_say_why(void **state)
{
    struct pkt_pool *pool;
    assert_int_equal(pkt_pool_create("t", 64, 0, 0, &pool), 0);
    struct pkt_port *p;
    char err[256];
    assert_int_equal(pkt_port_open("nosuch:x=1", 0, pool, &p, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "unknown port type 'nosuch'"));
    assert_int_equal(pkt_port_open("ring:name=a,colour=red", 0, pool, &p, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "unknown option 'colour'"));
    assert_int_equal(pkt_port_open("ring:peer=b", 0, pool, &p, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "name="));
    assert_int_equal(pkt_port_open("ring:name=a,size=1", 0, pool, &p, err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(pkt_port_open("pcap:", 0, pool, &p, err, sizeof(err)), -EINVAL);
    assert_int_equal(pkt_port_open("afpacket:iface=kk-none0", 0, pool, &p, err, sizeof(err)) <
                             0,
                     true);
    assert_non_null(strstr(err, "kk-none0"));
    pkt_pool_destroy(pool);
}

static void test_ring_ports_pass_packets_both_ways(void **state)
{
    struct pkt_pool *pool;
    assert_int_equal(pkt_pool_create("t", 256, 0, 0, &pool), 0);
    struct pkt_port *a, *b;
    char err[256];
    assert_int_equal(pkt_port_open("ring:name=ta,peer=tb,size=64", 3, pool, &a, err,
                                   sizeof(err)), 0);
    assert_int_equal(pkt_port_open("ring:name=tb,peer=ta,size=64", 4, pool, &b, err,
                                   sizeof(err)), 0);
    struct pkt_buf *out[100], *in[100];
    for (int i = 0; i < 100; i++) {
        uint8_t frame[60] = {0};
        frame[0] = (uint8_t)i;
        out[i] = pkt_from_bytes(pool, frame, sizeof(frame));
        assert_non_null(out[i]);
    }
    /* The ring holds 64: the rest stay with the caller. */
    uint16_t sent = pkt_port_tx_burst(a, 0, out, 100);
    assert_int_equal(sent, 64);
    uint16_t got = pkt_port_rx_burst(b, 0, in, 100);
    assert_int_equal(got, 64);
    for (int i = 0; i < got; i++) {
        assert_int_equal(pkt_data(in[i])[0], i);
        assert_int_equal(in[i]->port, 4);
    }
    assert_int_equal(pkt_port_rx_burst(a, 0, in + got, 10), 0); /* nothing came back */
    struct pkt_queue_stats rx, tx;
    pkt_port_stats(a, &rx, &tx);
    assert_int_equal(tx.packets, 64);
    assert_int_equal(tx.bytes, 64 * 60);
    assert_int_equal(tx.drops, 36);
    pkt_port_stats(b, &rx, &tx);
    assert_int_equal(rx.packets, 64);
    /* And back the other way. */
    assert_int_equal(pkt_port_tx_burst(b, 0, in, got), got);
    assert_int_equal(pkt_port_rx_burst(a, 0, in, 100), got);
    pkt_free_bulk(in, got);
    pkt_free_bulk(out + sent, 100 - sent);
    /* Packets left in a ring are freed with it. */
    assert_int_equal(pkt_port_tx_burst(a, 0, (struct pkt_buf *[]){pkt_alloc(pool)}, 1), 1);
    pkt_port_close(a);
    pkt_port_close(b);
    pkt_pool_flush_thread_cache(pool);
    assert_int_equal(pkt_pool_avail(pool), 256);
    pkt_pool_destroy(pool);
}

static void test_vnet_headers_are_checked(void **state)
{
    struct pkt_pool *pool;
    assert_int_equal(pkt_pool_create("t", 16, 0, 0, &pool), 0);
    uint8_t frame[100] = {0};
    struct pkt_buf *b = pkt_from_bytes(pool, frame, sizeof(frame));
    struct virtio_net_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
                               .csum_offset = 16};
    assert_int_equal(pkt_vnet_hdr_apply(b, &h), 0);
    assert_true(b->ol_flags & PKT_OL_CSUM_PARTIAL);
    struct virtio_net_hdr back;
    pkt_vnet_hdr_make(b, &back);
    assert_int_equal(back.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    assert_int_equal(back.csum_start, 34);
    assert_int_equal(back.csum_offset, 16);
    /* A checksum stored past the end of the frame. */
    h.csum_start = 90;
    h.csum_offset = 9;
    assert_int_equal(pkt_vnet_hdr_apply(b, &h), -EINVAL);
    /* Unknown flags, unknown GSO types, GSO without checksum or size. */
    h = (struct virtio_net_hdr){.flags = 0x80};
    assert_int_equal(pkt_vnet_hdr_apply(b, &h), -EINVAL);
    h = (struct virtio_net_hdr){.gso_type = 9};
    assert_int_equal(pkt_vnet_hdr_apply(b, &h), -EINVAL);
    h = (struct virtio_net_hdr){.gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1448};
    assert_int_equal(pkt_vnet_hdr_apply(b, &h), -EINVAL);
    h = (struct virtio_net_hdr){.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
                                .csum_offset = 16, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4};
    assert_int_equal(pkt_vnet_hdr_apply(b, &h), -EINVAL);
    h.gso_size = 1448;
    h.hdr_len = 54;
    assert_int_equal(pkt_vnet_hdr_apply(b, &h), 0);
    assert_true(b->ol_flags & PKT_OL_GSO);
    assert_int_equal(b->gso_size, 1448);
    pkt_free(b);
    pkt_pool_destroy(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_parsing),
        cmocka_unit_test(test_open_errors_say_why),
        cmocka_unit_test(test_ring_ports_pass_packets_both_ways),
        cmocka_unit_test(test_vnet_headers_are_checked),
    };
    return cmocka_run_group_tests_name("pkt ports", tests, NULL, NULL);
}
