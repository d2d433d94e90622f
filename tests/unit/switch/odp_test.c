/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Datapath action lists. Refused lists first; then the builders' layout,
 * the text form, and every action executed on real frames (built with the
 * pkt_proto tests' builder): bytes after push/pop/set, checksums checked by
 * recomputation (the builder's independent reference sums and lib/pkt's
 * verifiers), partial checksums completed after a rewrite, copies for
 * every OUTPUT but the last, and packets freed when the list ends otherwise.
 */
#include <errno.h>

#include "kk_common.h"
#include "kk_test.h"
#include "odp.h"
#include "pkt.h"
#include "pkt_build.h"
#include "pkt_csum.h"
#include "pkt_proto.h"

static struct pkt_pool *pool;

struct captured {
    unsigned n;
    uint32_t port[16];
    struct pkt_buf *pkt[16];
    unsigned n_user;
    uint64_t cookie;
};

static void cap_output(void *arg, uint32_t port, struct pkt_buf *pkt)
{
    struct captured *c = arg;
    assert_true(c->n < 16);
    c->port[c->n] = port;
    c->pkt[c->n++] = pkt;
}

static void cap_user(void *arg, const struct sw_odp_userspace *u, const struct pkt_buf *pkt)
{
    struct captured *c = arg;
    (void)pkt;
    c->n_user++;
    c->cookie = u->cookie;
}

static void cap_free(struct captured *c)
{
    for (unsigned i = 0; i < c->n; i++)
        pkt_free(c->pkt[i]);
    c->n = 0;
}

static uint32_t pool_free_now(void)
{
    pkt_pool_flush_thread_cache(pool);
    return pkt_pool_avail(pool);
}

static int setup(void **state)
{
    (void)state;
    return pkt_pool_create("odp_test", 64, 0, 8, &pool);
}

static int teardown(void **state)
{
    (void)state;
    pkt_pool_flush_thread_cache(pool);
    pkt_pool_destroy(pool);
    return 0;
}

static void build_tcp4(struct bld *b)
{
    b_init(b);
    b_eth(b, PKT_ETH_TYPE_IPV4);
    b_ipv4(b, PKT_IPPROTO_TCP, 0, NULL, 0);
    b_tcp(b, 1234, 80, PKT_TCP_ACK, 0);
    b_payload(b, 40);
    b_finish(b);
}

static void build_udp6(struct bld *b)
{
    b_init(b);
    b_eth(b, PKT_ETH_TYPE_IPV6);
    b_ipv6(b, PKT_IPPROTO_UDP);
    b_udp(b, 5000, 53);
    b_payload(b, 30);
    b_finish(b);
}

/* Run @actions on one packet made of @frame; outputs land in @c. */
static void run(struct captured *c, const uint8_t *frame, size_t len, const struct sw_odp_buf *a,
                uint16_t ol_flags)
{
    struct pkt_buf *p = pkt_from_bytes(pool, frame, (uint32_t)len);
    assert_non_null(p);
    p->ol_flags = ol_flags;
    assert_int_equal(sw_odp_validate(a->data, a->len), 0);
    struct sw_odp_exec_ctx ctx = {
        .output = cap_output, .userspace = cap_user, .arg = c, .pool = pool};
    sw_odp_execute(&ctx, &p, 1, a->data, a->len);
}

/* Checksums of the frame in @p, recomputed: IPv4 header and L4. */
static void assert_csums_ok(const struct pkt_buf *p)
{
    struct pkt_flow flow;
    struct pkt_layout lay;
    const uint8_t *f = pkt_data(p);
    pkt_parse(f, p->data_len, &flow, &lay);
    assert_int_equal(lay.status, PKT_OK);
    if (lay.l3 == PKT_LAYER_IPV4) {
        uint32_t hl = (uint32_t)(f[lay.l3_ofs] & 0xf) * 4;
        assert_int_equal(ref_fold(ref_sum(0, f + lay.l3_ofs, hl)), 0);
        assert_int_equal(pkt_ipv4_csum_verify(f, p->data_len, &lay), 0);
    }
    assert_int_equal(pkt_l4_csum_verify(f, p->data_len, &lay), 0);
}

/* ---- refused lists -------------------------------------------------------- */

static void test_validate_rejects(void **state)
{
    (void)state;
    uint64_t raw[8] = {0};
    uint8_t *b = (uint8_t *)raw;
    struct sw_odp_attr a;

    assert_int_equal(sw_odp_validate(NULL, 0), 0); /* empty: drop */
    assert_int_equal(sw_odp_validate(NULL, 8), -EINVAL);
    /* shorter than a header */
    a = (struct sw_odp_attr){SW_ODP_POP_VLAN, 4};
    memcpy(b, &a, 4);
    assert_int_equal(sw_odp_validate(b, 2), -EINVAL);
    /* unknown types */
    a = (struct sw_odp_attr){0, 4};
    memcpy(b, &a, 4);
    assert_int_equal(sw_odp_validate(b, 8), -EINVAL);
    a = (struct sw_odp_attr){SW_ODP_TYPE_MAX, 4};
    memcpy(b, &a, 4);
    assert_int_equal(sw_odp_validate(b, 8), -EINVAL);
    /* wrong length for the type */
    a = (struct sw_odp_attr){SW_ODP_OUTPUT, 6};
    memcpy(b, &a, 4);
    assert_int_equal(sw_odp_validate(b, 8), -EINVAL);
    a = (struct sw_odp_attr){SW_ODP_OUTPUT, 12};
    memcpy(b, &a, 4);
    assert_int_equal(sw_odp_validate(b, 16), -EINVAL);
    /* record running past the list */
    a = (struct sw_odp_attr){SW_ODP_SET_IPV4, sizeof(struct sw_odp_set_ipv4)};
    memcpy(b, &a, 4);
    assert_int_equal(sw_odp_validate(b, 16), -EINVAL);
    /* second record truncated */
    a = (struct sw_odp_attr){SW_ODP_OUTPUT, 8};
    memcpy(b, &a, 4);
    a = (struct sw_odp_attr){SW_ODP_OUTPUT, 8};
    memcpy(b + 8, &a, 4);
    assert_int_equal(sw_odp_validate(b, 16), 0);
    assert_int_equal(sw_odp_validate(b, 12), -EINVAL);
    /* misaligned list */
    assert_int_equal(sw_odp_validate(b + 4, 8), -EINVAL);
    /* push_vlan with a TPID that is not a VLAN TPID */
    struct sw_odp_buf ob;
    sw_odp_buf_init(&ob);
    sw_odp_put_push_vlan(&ob, 0x0800, 10);
    assert_int_equal(sw_odp_validate(ob.data, ob.len), -EINVAL);
    /* too long */
    assert_int_equal(sw_odp_validate(b, SW_ODP_MAX_LEN + 8), -EINVAL);
}

static void test_put_overflow(void **state)
{
    (void)state;
    struct sw_odp_buf b;
    sw_odp_buf_init(&b);
    unsigned n = 0;
    while (!b.overflow) {
        sw_odp_put_output(&b, n);
        n++;
    }
    assert_int_equal(n - 1, SW_ODP_MAX_LEN / 8);
    assert_int_equal(b.len, SW_ODP_MAX_LEN);
    assert_null(sw_odp_put(&b, SW_ODP_POP_VLAN, NULL, 0));
    assert_int_equal(sw_odp_validate(b.data, b.len), 0);
}

static void test_put_layout(void **state)
{
    (void)state;
    struct sw_odp_buf b;
    sw_odp_buf_init(&b);
    sw_odp_put_push_vlan(&b, 0x88a8, 0x2005);
    sw_odp_put_pop_vlan(&b);
    sw_odp_put_output(&b, 0x01020304);
    assert_false(b.overflow);
    assert_int_equal(b.len, 24);
    const struct sw_odp_push_vlan *pv = (const void *)b.data;
    assert_int_equal(pv->hdr.type, SW_ODP_PUSH_VLAN);
    assert_int_equal(pv->hdr.len, 8);
    assert_int_equal(pv->tpid, 0x88a8);
    assert_int_equal(pv->tci, 0x2005);
    const struct sw_odp_attr *pop = (const void *)(b.data + 8);
    assert_int_equal(pop->type, SW_ODP_POP_VLAN);
    assert_int_equal(pop->len, 4);
    assert_int_equal(b.data[12] | b.data[13] | b.data[14] | b.data[15], 0); /* padding */
    const struct sw_odp_output *o = (const void *)(b.data + 16);
    assert_int_equal(o->port, 0x01020304);
    unsigned count = 0;
    SW_ODP_FOR_EACH(a, b.data, b.len)
        count++;
    assert_int_equal(count, 3);
}

/* ---- text form ------------------------------------------------------------ */

static const char *names(void *arg, uint32_t port)
{
    (void)arg;
    return port == 2 ? "vm1" : NULL;
}

static void test_format(void **state)
{
    (void)state;
    char t[512];
    struct sw_odp_buf b;
    sw_odp_buf_init(&b);
    assert_int_equal(sw_odp_format(NULL, 0, t, sizeof(t), NULL, NULL), 4);
    assert_string_equal(t, "drop");

    sw_odp_put_push_vlan(&b, PKT_ETH_TYPE_VLAN, 10);
    sw_odp_put_output(&b, 2);
    struct sw_odp_set_ipv4 s4 = {.ttl = 63, .ttl_mask = 0xff};
    sw_odp_put(&b, SW_ODP_SET_IPV4, (const uint8_t *)&s4 + 4, sizeof(s4) - 4);
    sw_odp_put_output(&b, 3);
    int n = sw_odp_format(b.data, b.len, t, sizeof(t), NULL, NULL);
    assert_string_equal(t, "push_vlan(vid=10,pcp=0),2,set(ipv4(ttl=63)),3");
    assert_int_equal(n, (int)strlen(t));
    sw_odp_format(b.data, b.len, t, sizeof(t), names, NULL);
    assert_string_equal(t, "push_vlan(vid=10,pcp=0),vm1,set(ipv4(ttl=63)),3");
    /* snprintf semantics */
    char small[8];
    assert_int_equal(sw_odp_format(b.data, b.len, small, sizeof(small), NULL, NULL), n);
    assert_string_equal(small, "push_vl");

    sw_odp_buf_init(&b);
    sw_odp_put_pop_vlan(&b);
    struct sw_odp_set_eth se = {.src = {2, 0, 0, 0, 0, 1},
                                .src_mask = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
                                .dst = {0, 0, 0, 0, 0, 0x10},
                                .dst_mask = {0, 0, 0, 0, 0, 0xf0}};
    sw_odp_put(&b, SW_ODP_SET_ETH, (const uint8_t *)&se + 4, sizeof(se) - 4);
    struct sw_odp_set_ipv4 s4b = {.src = 0x0a000001, .src_mask = 0xffffffff, .dst = 0x0a010000,
                                  .dst_mask = 0xffff0000, .tos = 0xb8, .tos_mask = 0xfc};
    sw_odp_put(&b, SW_ODP_SET_IPV4, (const uint8_t *)&s4b + 4, sizeof(s4b) - 4);
    struct sw_odp_set_l4 sl = {.dst = 8080, .dst_mask = 0xffff};
    sw_odp_put(&b, SW_ODP_SET_L4, (const uint8_t *)&sl + 4, sizeof(sl) - 4);
    struct sw_odp_set_vlan sv = {.tci = 5u << 13 | 20, .mask = 0xefff};
    sw_odp_put(&b, SW_ODP_SET_VLAN, (const uint8_t *)&sv + 4, sizeof(sv) - 4);
    struct sw_odp_set_ipv6 s6 = {.hlimit = 9, .hlimit_mask = 0xff};
    memcpy(s6.dst, B_IP6_SRC, 16);
    memset(s6.dst_mask, 0xff, 16);
    sw_odp_put(&b, SW_ODP_SET_IPV6, (const uint8_t *)&s6 + 4, sizeof(s6) - 4);
    struct sw_odp_userspace us = {.reason = 1, .cookie = 0xabc};
    sw_odp_put(&b, SW_ODP_USERSPACE, (const uint8_t *)&us + 4, sizeof(us) - 4);
    sw_odp_put_meter(&b, 42);
    assert_false(b.overflow);
    assert_int_equal(sw_odp_validate(b.data, b.len), 0);
    sw_odp_format(b.data, b.len, t, sizeof(t), NULL, NULL);
    assert_string_equal(t, "pop_vlan,set(eth(src=02:00:00:00:00:01,dst=00:00:00:00:00:10/"
                           "00:00:00:00:00:f0)),set(ipv4(src=10.0.0.1,dst=10.1.0.0/255.255.0.0,"
                           "tos=0xb8/0xfc)),set(l4(dst=8080)),set(vlan(vid=20,pcp=5)),"
                           "set(ipv6(dst=2001:db8::1,hlimit=9)),userspace(reason=1,cookie=0xabc),"
                           "meter(42)");
    /* An invalid list says so instead of guessing. */
    b.data[0] = 0xee;
    sw_odp_format(b.data, b.len, t, sizeof(t), NULL, NULL);
    assert_string_equal(t, "invalid");
}

/* ---- execution ------------------------------------------------------------ */

static void test_push_pop_vlan(void **state)
{
    (void)state;
    struct bld b;
    build_tcp4(&b);
    uint32_t before = pool_free_now();
    struct captured c = {0};
    struct sw_odp_buf a;
    sw_odp_buf_init(&a);
    sw_odp_put_push_vlan(&a, PKT_ETH_TYPE_VLAN, SW_VLAN_PRESENT | 5u << 13 | 10);
    sw_odp_put_output(&a, 7);
    run(&c, b.b, b.n, &a, 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.port[0], 7);
    struct pkt_buf *p = c.pkt[0];
    assert_int_equal(p->pkt_len, b.n + 4);
    assert_int_equal(p->data_len, b.n + 4);
    const uint8_t *f = pkt_data(p);
    assert_memory_equal(f, b.b, 12);
    uint8_t tag[4] = {0x81, 0x00, 0xa0, 0x0a}; /* PCP 5, DEI 0 (present bit dropped), VID 10 */
    assert_memory_equal(f + 12, tag, 4);
    assert_memory_equal(f + 16, b.b + 12, b.n - 12);
    assert_csums_ok(p);

    /* Pop it again: the original bytes. */
    uint8_t tagged[2048];
    size_t tlen = p->data_len;
    memcpy(tagged, f, tlen);
    cap_free(&c);
    sw_odp_buf_init(&a);
    sw_odp_put_pop_vlan(&a);
    sw_odp_put_output(&a, 1);
    run(&c, tagged, tlen, &a, 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.pkt[0]->pkt_len, b.n);
    assert_memory_equal(pkt_data(c.pkt[0]), b.b, b.n);
    cap_free(&c);

    /* Pop on an untagged frame leaves it alone. */
    run(&c, b.b, b.n, &a, 0);
    assert_int_equal(c.pkt[0]->pkt_len, b.n);
    assert_memory_equal(pkt_data(c.pkt[0]), b.b, b.n);
    cap_free(&c);

    /* QinQ: push an S-tag over the C-tag. */
    sw_odp_buf_init(&a);
    sw_odp_put_push_vlan(&a, PKT_ETH_TYPE_VLAN, 10);
    sw_odp_put_push_vlan(&a, PKT_ETH_TYPE_QINQ, 100);
    sw_odp_put_output(&a, 1);
    run(&c, b.b, b.n, &a, 0);
    f = pkt_data(c.pkt[0]);
    uint8_t two[8] = {0x88, 0xa8, 0x00, 100, 0x81, 0x00, 0x00, 10};
    assert_memory_equal(f + 12, two, 8);
    assert_memory_equal(f + 20, b.b + 12, b.n - 12);
    cap_free(&c);
    assert_int_equal(pool_free_now(), before);
}

static void test_set_ipv4_tcp(void **state)
{
    (void)state;
    struct bld b;
    build_tcp4(&b);
    struct captured c = {0};
    struct sw_odp_buf a;
    sw_odp_buf_init(&a);
    /* Only the low byte of the source and the whole destination. */
    struct sw_odp_set_ipv4 s = {.src = 0x000000fe, .src_mask = 0x000000ff, .dst = 0x0b0c0d0e,
                                .dst_mask = 0xffffffff, .tos = 0x00, .tos_mask = 0x03,
                                .ttl = 7, .ttl_mask = 0xff};
    sw_odp_put(&a, SW_ODP_SET_IPV4, (const uint8_t *)&s + 4, sizeof(s) - 4);
    struct sw_odp_set_l4 l4 = {.src = 0x4321, .src_mask = 0xffff, .dst = 0x0001, .dst_mask = 0x00ff};
    sw_odp_put(&a, SW_ODP_SET_L4, (const uint8_t *)&l4 + 4, sizeof(l4) - 4);
    sw_odp_put_output(&a, 1);
    run(&c, b.b, b.n, &a, 0);
    const uint8_t *f = pkt_data(c.pkt[0]);
    const uint8_t *ip = f + 14, *tcp = f + 34;
    assert_int_equal(pkt_get32(ip + 12), (B_IP4_SRC & 0xffffff00u) | 0xfe);
    assert_int_equal(pkt_get32(ip + 16), 0x0b0c0d0e);
    assert_int_equal(ip[1], 0xb9 & 0xfc); /* ECN cleared, DSCP kept */
    assert_int_equal(ip[8], 7);
    assert_int_equal(pkt_get16(tcp), 0x4321);
    assert_int_equal(pkt_get16(tcp + 2), (80 & 0xff00) | 0x01);
    /* Everything else as it was. */
    assert_memory_equal(f, b.b, 14);
    assert_memory_equal(tcp + 4, b.b + 38, 12);
    assert_memory_equal(tcp + 20, b.b + 54, b.n - 54);
    assert_csums_ok(c.pkt[0]);
    cap_free(&c);
}

/* SCTP's CRC covers the whole packet: a frame whose payload is in a second
 * segment (a lent vhost-user payload) is brought together, the port set
 * and the CRC right. */
static void test_set_sctp_chained(void **state)
{
    (void)state;
    struct bld b;
    b_init(&b);
    b_eth(&b, PKT_ETH_TYPE_IPV4);
    b_ipv4(&b, PKT_IPPROTO_SCTP, 0, NULL, 0);
    b_sctp(&b, 2905, 2906);
    b_payload(&b, 700);
    b_finish(&b);
    struct sw_odp_buf a;
    sw_odp_buf_init(&a);
    struct sw_odp_set_l4 l4 = {.src = 7777, .src_mask = 0xffff};
    sw_odp_put(&a, SW_ODP_SET_L4, (const uint8_t *)&l4 + 4, sizeof(l4) - 4);
    sw_odp_put_output(&a, 1);
    struct pkt_buf *p = pkt_from_bytes(pool, b.b, 40);
    pkt_chain(p, pkt_from_bytes(pool, b.b + 40, (uint32_t)(b.n - 40)));
    struct captured c = {0};
    struct sw_odp_exec_ctx ctx = {
        .output = cap_output, .userspace = cap_user, .arg = &c, .pool = pool};
    sw_odp_execute(&ctx, &p, 1, a.data, a.len);
    assert_int_equal(c.n, 1);
    struct pkt_buf *o = c.pkt[0];
    assert_int_equal(o->pkt_len, b.n);
    assert_null(o->next);
    const uint8_t *f = pkt_data(o);
    assert_int_equal(pkt_get16(f + 34), 7777);
    assert_memory_equal(f, b.b, 34);
    assert_memory_equal(f + 36, b.b + 36, 6); /* dport, tag */
    assert_memory_equal(f + 46, b.b + 46, b.n - 46);
    assert_int_not_equal(pkt_get32(f + 42), pkt_get32(b.b + 42)); /* the CRC moved */
    assert_csums_ok(o);
    cap_free(&c);
}

static void test_set_after_push(void **state)
{
    (void)state;
    /* A set after a push must find the moved headers (layout re-parsed). */
    struct bld b;
    build_tcp4(&b);
    struct captured c = {0};
    struct sw_odp_buf a;
    sw_odp_buf_init(&a);
    struct sw_odp_set_ipv4 s = {.ttl = 1, .ttl_mask = 0xff};
    sw_odp_put(&a, SW_ODP_SET_IPV4, (const uint8_t *)&s + 4, sizeof(s) - 4);
    sw_odp_put_push_vlan(&a, PKT_ETH_TYPE_VLAN, 99);
    struct sw_odp_set_ipv4 s2 = {.dst = 0xc0000201, .dst_mask = 0xffffffff};
    sw_odp_put(&a, SW_ODP_SET_IPV4, (const uint8_t *)&s2 + 4, sizeof(s2) - 4);
    sw_odp_put_output(&a, 1);
    run(&c, b.b, b.n, &a, 0);
    const uint8_t *f = pkt_data(c.pkt[0]);
    assert_int_equal(pkt_get16(f + 12), PKT_ETH_TYPE_VLAN);
    assert_int_equal(pkt_get16(f + 14), 99);
    assert_int_equal(f[18 + 8], 1);
    assert_int_equal(pkt_get32(f + 18 + 16), 0xc0000201);
    assert_int_equal(pkt_get32(f + 18 + 12), B_IP4_SRC);
    assert_csums_ok(c.pkt[0]);
    cap_free(&c);
}

static void test_set_ipv6_udp(void **state)
{
    (void)state;
    struct bld b;
    build_udp6(&b);
    struct captured c = {0};
    struct sw_odp_buf a;
    sw_odp_buf_init(&a);
    struct sw_odp_set_ipv6 s = {.tclass = 0x04, .tclass_mask = 0xfc, .hlimit = 3,
                                .hlimit_mask = 0xff};
    memset(s.src, 0x11, 16);
    memset(s.src_mask + 8, 0xff, 8); /* low half only */
    memcpy(s.dst, B_IP6_SRC, 16);
    memset(s.dst_mask, 0xff, 16);
    sw_odp_put(&a, SW_ODP_SET_IPV6, (const uint8_t *)&s + 4, sizeof(s) - 4);
    struct sw_odp_set_l4 l4 = {.dst = 5353, .dst_mask = 0xffff};
    sw_odp_put(&a, SW_ODP_SET_L4, (const uint8_t *)&l4 + 4, sizeof(l4) - 4);
    sw_odp_put_output(&a, 1);
    run(&c, b.b, b.n, &a, 0);
    const uint8_t *f = pkt_data(c.pkt[0]), *ip = f + 14;
    uint8_t want_src[16];
    memcpy(want_src, B_IP6_SRC, 8);
    memset(want_src + 8, 0x11, 8);
    assert_memory_equal(ip + 8, want_src, 16);
    assert_memory_equal(ip + 24, B_IP6_SRC, 16);
    assert_int_equal(ip[7], 3);
    /* traffic class 0xa5 -> DSCP bits replaced by 0x04, ECN (01) kept */
    uint8_t tc = (uint8_t)((pkt_get32(ip) >> 20) & 0xff);
    assert_int_equal(tc, 0x05);
    assert_int_equal(pkt_get32(ip) & 0xfffff, 0x12345);
    assert_int_equal(pkt_get16(f + 54 + 2), 5353);
    assert_csums_ok(c.pkt[0]);
    cap_free(&c);
}

static void test_set_eth_vlan(void **state)
{
    (void)state;
    struct bld b;
    b_init(&b);
    b_eth(&b, PKT_ETH_TYPE_VLAN);
    b_tag(&b, 3u << 13 | 10, PKT_ETH_TYPE_IPV4);
    b_ipv4(&b, PKT_IPPROTO_UDP, 0, NULL, 0);
    b_udp(&b, 1, 2);
    b_payload(&b, 10);
    b_finish(&b);
    struct captured c = {0};
    struct sw_odp_buf a;
    sw_odp_buf_init(&a);
    struct sw_odp_set_eth se = {.dst = {0xaa, 0, 0, 0, 0, 0x0f}, .dst_mask = {0xff, 0, 0, 0, 0, 0x0f}};
    sw_odp_put(&a, SW_ODP_SET_ETH, (const uint8_t *)&se + 4, sizeof(se) - 4);
    struct sw_odp_set_vlan sv = {.tci = 77, .mask = PKT_VLAN_VID_MASK};
    sw_odp_put(&a, SW_ODP_SET_VLAN, (const uint8_t *)&sv + 4, sizeof(sv) - 4);
    sw_odp_put_output(&a, 1);
    run(&c, b.b, b.n, &a, 0);
    const uint8_t *f = pkt_data(c.pkt[0]);
    uint8_t dst[6] = {0xaa, B_DST[1], B_DST[2], B_DST[3], B_DST[4], (B_DST[5] & 0xf0) | 0x0f};
    assert_memory_equal(f, dst, 6);
    assert_memory_equal(f + 6, B_SRC, 6);
    assert_int_equal(pkt_get16(f + 14), 3u << 13 | 77);
    assert_memory_equal(f + 16, b.b + 16, b.n - 16);
    assert_csums_ok(c.pkt[0]);
    cap_free(&c);
}

static void test_partial_csum(void **state)
{
    (void)state;
    /* A guest left the TCP checksum to offload: the field holds the
     * pseudo-header sum. After an address rewrite, completing the checksum
     * must give a correct one. */
    struct bld b;
    build_tcp4(&b);
    uint8_t *tcp = b.b + b.l4;
    uint16_t pseudo = (uint16_t)~ref_fold(ref_sum(ref_sum(0, b.b + b.l3 + 12, 8),
                                                  (const uint8_t[]){0, PKT_IPPROTO_TCP}, 2) +
                                          (b.n - b.l4));
    tcp[16] = (uint8_t)(pseudo >> 8);
    tcp[17] = (uint8_t)pseudo;
    struct captured c = {0};
    struct sw_odp_buf a;
    sw_odp_buf_init(&a);
    sw_odp_put_push_vlan(&a, PKT_ETH_TYPE_VLAN, 5);
    struct sw_odp_set_ipv4 s = {.src = 0x01020304, .src_mask = 0xffffffff};
    sw_odp_put(&a, SW_ODP_SET_IPV4, (const uint8_t *)&s + 4, sizeof(s) - 4);
    sw_odp_put_output(&a, 1);
    struct pkt_buf *p = pkt_from_bytes(pool, b.b, b.n);
    p->ol_flags = PKT_OL_CSUM_PARTIAL;
    p->csum_start = (uint16_t)b.l4;
    p->csum_offset = 16;
    struct sw_odp_exec_ctx ctx = {.output = cap_output, .arg = &c, .pool = pool};
    sw_odp_execute(&ctx, &p, 1, a.data, a.len);
    p = c.pkt[0];
    assert_int_equal(p->csum_start, b.l4 + 4); /* moved with the tag */
    uint8_t *f = pkt_data(p);
    struct pkt_flow flow;
    struct pkt_layout lay;
    pkt_parse(f, p->data_len, &flow, &lay);
    lay.l4_csum_partial = 1;
    assert_int_equal(pkt_l4_csum_set(f, p->data_len, &lay), 0);
    lay.l4_csum_partial = 0;
    assert_int_equal(pkt_l4_csum_verify(f, p->data_len, &lay), 0);
    assert_int_equal(pkt_ipv4_csum_verify(f, p->data_len, &lay), 0);
    assert_int_equal(pkt_get32(f + 18 + 12), 0x01020304);
    cap_free(&c);
}

static void test_multi_output_copies(void **state)
{
    (void)state;
    struct bld b;
    build_tcp4(&b);
    uint32_t before = pool_free_now();
    struct captured c = {0};
    struct sw_odp_buf a;
    sw_odp_buf_init(&a);
    sw_odp_put_output(&a, 1);
    sw_odp_put_push_vlan(&a, PKT_ETH_TYPE_VLAN, 10);
    sw_odp_put_output(&a, 2);
    sw_odp_put_output(&a, 3);
    struct pkt_buf *orig = pkt_from_bytes(pool, b.b, b.n);
    struct pkt_buf *p = orig;
    struct sw_odp_exec_ctx ctx = {.output = cap_output, .arg = &c, .pool = pool};
    sw_odp_execute(&ctx, &p, 1, a.data, a.len);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.port[0], 1);
    assert_int_equal(c.port[1], 2);
    assert_int_equal(c.port[2], 3);
    assert_ptr_not_equal(c.pkt[0], orig);
    assert_ptr_not_equal(c.pkt[1], orig);
    assert_ptr_equal(c.pkt[2], orig); /* the last output sends the packet itself */
    assert_int_equal(c.pkt[0]->pkt_len, b.n);
    assert_memory_equal(pkt_data(c.pkt[0]), b.b, b.n);
    assert_int_equal(c.pkt[1]->pkt_len, b.n + 4);
    assert_int_equal(c.pkt[2]->pkt_len, b.n + 4);
    assert_memory_equal(pkt_data(c.pkt[1]), pkt_data(c.pkt[2]), b.n + 4);
    assert_int_equal(ctx.copy_failures, 0);
    cap_free(&c);
    assert_int_equal(pool_free_now(), before);

    /* Last action not an output: outputs are copies, the packet is freed. */
    sw_odp_buf_init(&a);
    sw_odp_put_output(&a, 4);
    struct sw_odp_userspace us = {.reason = 2, .cookie = 42};
    sw_odp_put(&a, SW_ODP_USERSPACE, (const uint8_t *)&us + 4, sizeof(us) - 4);
    struct pkt_buf *batch[3];
    for (int i = 0; i < 3; i++)
        batch[i] = pkt_from_bytes(pool, b.b, b.n);
    ctx = (struct sw_odp_exec_ctx){
        .output = cap_output, .userspace = cap_user, .arg = &c, .pool = pool};
    sw_odp_execute(&ctx, batch, 3, a.data, a.len);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.n_user, 3);
    assert_int_equal(c.cookie, 42);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(c.port[i], 4);
        assert_memory_equal(pkt_data(c.pkt[i]), b.b, b.n);
    }
    cap_free(&c);
    assert_int_equal(pool_free_now(), before);

    /* Empty list: dropped. */
    for (int i = 0; i < 3; i++)
        batch[i] = pkt_from_bytes(pool, b.b, b.n);
    sw_odp_execute(&ctx, batch, 3, NULL, 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(pool_free_now(), before);

    /* Copies that cannot be had are counted; the original still goes out. */
    struct pkt_buf *hold[64];
    unsigned held = 0;
    p = pkt_from_bytes(pool, b.b, b.n);
    while (held < 64 && (hold[held] = pkt_alloc(pool)) != NULL)
        held++;
    sw_odp_buf_init(&a);
    sw_odp_put_output(&a, 1);
    sw_odp_put_output(&a, 2);
    ctx = (struct sw_odp_exec_ctx){.output = cap_output, .arg = &c, .pool = pool};
    sw_odp_execute(&ctx, &p, 1, a.data, a.len);
    assert_int_equal(ctx.copy_failures, 1);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.port[0], 2);
    cap_free(&c);
    pkt_free_bulk(hold, held);
    assert_int_equal(pool_free_now(), before);
}

static void test_set_wrong_protocol(void **state)
{
    (void)state;
    /* An L4 or IPv6 set on an IPv4/TCP frame missing that header: unchanged. */
    struct bld b;
    b_init(&b);
    b_eth(&b, PKT_ETH_TYPE_ARP);
    b_arp(&b, PKT_ARP_OP_REQUEST);
    struct captured c = {0};
    struct sw_odp_buf a;
    sw_odp_buf_init(&a);
    struct sw_odp_set_ipv4 s4 = {.ttl = 1, .ttl_mask = 0xff};
    sw_odp_put(&a, SW_ODP_SET_IPV4, (const uint8_t *)&s4 + 4, sizeof(s4) - 4);
    struct sw_odp_set_l4 l4 = {.dst = 1, .dst_mask = 0xffff};
    sw_odp_put(&a, SW_ODP_SET_L4, (const uint8_t *)&l4 + 4, sizeof(l4) - 4);
    struct sw_odp_set_vlan sv = {.tci = 1, .mask = 0xffff};
    sw_odp_put(&a, SW_ODP_SET_VLAN, (const uint8_t *)&sv + 4, sizeof(sv) - 4);
    sw_odp_put_output(&a, 1);
    run(&c, b.b, b.n, &a, 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.pkt[0]->pkt_len, b.n);
    assert_memory_equal(pkt_data(c.pkt[0]), b.b, b.n);
    cap_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_rejects),
        cmocka_unit_test(test_put_overflow),
        cmocka_unit_test(test_put_layout),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_push_pop_vlan),
        cmocka_unit_test(test_set_ipv4_tcp),
        cmocka_unit_test(test_set_sctp_chained),
        cmocka_unit_test(test_set_after_push),
        cmocka_unit_test(test_set_ipv6_udp),
        cmocka_unit_test(test_set_eth_vlan),
        cmocka_unit_test(test_partial_csum),
        cmocka_unit_test(test_multi_output_copies),
        cmocka_unit_test(test_set_wrong_protocol),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
