/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The userspace datapath over in-process ring ports. Refused calls first;
 * then forwarding through an upcall handler, megaflow installation with the
 * handler's wildcards (many microflows, one upcall), EMC and megaflow hit
 * counters, NO_INSTALL and CONSUMED, the max_flows cap, expiry,
 * revalidation, sw_dpif_execute, and ports added and removed while two PMD
 * threads forward (every packet accounted for).
 *
 * Ring wiring for a datapath port X: the datapath opens
 * "ring:name=in.X,peer=out.X"; the test sends into ring in.X through
 * "ring:name=inj.X,peer=in.X" and reads ring out.X through "ring:name=out.X".
 * Assertions are on data; waits poll for a condition with a generous cap.
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "dpif.h"
#include "kk_common.h"
#include "kk_rcu.h"
#include "kk_reactor.h"
#include "kk_test.h"
#include "ofproto.h"
#include "pkt.h"
#include "pkt_build.h"
#include "port.h"

static struct pkt_pool *tpool;
static unsigned ring_seq;

/* ---- the slow path used by the tests ----------------------------------- */

struct handler {
    enum sw_upcall_result result;
    uint32_t out[SW_DPIF_MAX_PORTS]; /* in_port -> output port; NONE: drop */
    bool exact_tp_src;               /* wildcards include tp_src */
    uint32_t tcp_out;                /* != NONE: TCP goes here instead of out[] */
    bool rule_tp_dst;                /* a "higher-priority rule" on tp_dst: */
    uint16_t rule_tp_dst_val;        /*   frames to this UDP port */
    uint32_t rule_tp_dst_out;        /*   go here (it consults tp_dst) */
    int meter;                       /* >= 0: a meter action first */
    unsigned upcalls;                /* atomic */
    unsigned userspace_calls;        /* atomic */
    uint32_t userspace_in_port;
    uint64_t userspace_cookie;
};

static enum sw_upcall_result handle(void *arg, struct sw_upcall *up)
{
    struct handler *h = arg;
    __atomic_add_fetch(&h->upcalls, 1, __ATOMIC_RELAXED);
    uint32_t in = up->key->in_port;
    if (h->exact_tp_src)
        up->wc.masks.tp_src = UINT16_MAX;
    if (h->meter >= 0)
        sw_odp_put_meter(&up->actions, (uint32_t)h->meter);
    uint32_t out = in < SW_DPIF_MAX_PORTS ? h->out[in] : SW_DPIF_PORT_NONE;
    if (h->tcp_out != SW_DPIF_PORT_NONE && up->key->nw_proto == PKT_IPPROTO_TCP)
        out = h->tcp_out;
    if (h->rule_tp_dst) {
        up->wc.masks.tp_dst = UINT16_MAX;
        if (up->key->tp_dst == h->rule_tp_dst_val)
            out = h->rule_tp_dst_out;
    }
    if (out != SW_DPIF_PORT_NONE)
        sw_odp_put_output(&up->actions, out);
    up->flow_user = h;
    return h->result;
}

static void on_userspace(void *arg, const struct sw_odp_userspace *u, const struct pkt_buf *pkt,
                         uint32_t in_port)
{
    struct handler *h = arg;
    (void)pkt;
    h->userspace_in_port = in_port;
    h->userspace_cookie = u->cookie;
    __atomic_add_fetch(&h->userspace_calls, 1, __ATOMIC_RELAXED);
}

static void handler_init(struct handler *h, enum sw_upcall_result r)
{
    memset(h, 0, sizeof(*h));
    h->result = r;
    h->meter = -1;
    h->tcp_out = SW_DPIF_PORT_NONE;
    for (unsigned i = 0; i < SW_DPIF_MAX_PORTS; i++)
        h->out[i] = SW_DPIF_PORT_NONE;
}

/* ---- ports seen from the test --------------------------------------------- */

struct tport {
    char name[32];
    char spec[96];
    uint32_t no;
    struct pkt_port *inj, *sink;
};

static void tport_init(struct tport *t)
{
    unsigned id = ring_seq++;
    char err[128], spec[96];
    snprintf(t->name, sizeof(t->name), "p%u", id);
    snprintf(t->spec, sizeof(t->spec), "ring:name=in.%u,peer=out.%u,size=4096", id, id);
    snprintf(spec, sizeof(spec), "ring:name=inj.%u,peer=in.%u,size=4096", id, id);
    assert_int_equal(pkt_port_open(spec, 900, tpool, &t->inj, err, sizeof(err)), 0);
    snprintf(spec, sizeof(spec), "ring:name=out.%u,size=4096", id);
    assert_int_equal(pkt_port_open(spec, 901, tpool, &t->sink, err, sizeof(err)), 0);
    t->no = SW_DPIF_PORT_NONE;
}

static void tport_add(struct sw_dpif *dp, struct tport *t)
{
    char err[128];
    int rc = sw_dpif_port_add(dp, t->name, t->spec, &t->no, err, sizeof(err));
    if (rc)
        fail_msg("port_add %s: %d %s", t->spec, rc, err);
}

static void tport_fini(struct tport *t)
{
    pkt_port_close(t->inj);
    pkt_port_close(t->sink);
}

static void build_udp(struct bld *b, uint16_t sport, uint16_t dport)
{
    b_init(b);
    b_eth(b, PKT_ETH_TYPE_IPV4);
    b_ipv4(b, PKT_IPPROTO_UDP, 0, NULL, 0);
    b_udp(b, sport, dport);
    b_payload(b, 18);
    b_finish(b);
}

/* Send @n frames, the i-th with UDP source port @sport0 + i % @flows. */
/* Sleep; a registered thread (the test's, as the control thread) is RCU
 * offline meanwhile, as the datapath's contract asks of any wait, so grace
 * periods (megaflow reclamation) never wait for it. */
static void nap(unsigned us)
{
    bool online = kk_rcu_thread_online_now();
    if (online)
        kk_rcu_thread_offline();
    usleep(us);
    if (online)
        kk_rcu_thread_online();
}

static void inject(struct tport *t, unsigned n, uint16_t sport0, unsigned flows)
{
    for (unsigned i = 0; i < n; i++) {
        struct bld b;
        build_udp(&b, (uint16_t)(sport0 + i % flows), 53);
        struct pkt_buf *p = pkt_from_bytes(tpool, b.b, b.n);
        assert_non_null(p);
        while (pkt_port_tx_burst(t->inj, 0, &p, 1) != 1)
            nap(100);
    }
}

/*
 * Receive until @want frames came out of @t or 10 s passed; check each is
 * a frame from inject() (UDP, destination 53, checksums right) unless
 * @check is NULL, and free them. Returns the number received.
 */
static unsigned drain(struct tport *t, unsigned want, const uint8_t *expect, size_t expect_len)
{
    unsigned got = 0;
    uint64_t deadline = kk_now_us() + 10 * 1000000;
    while (got < want && kk_now_us() < deadline) {
        struct pkt_buf *pkts[32];
        unsigned n = pkt_port_rx_burst(t->sink, 0, pkts, 32);
        for (unsigned i = 0; i < n; i++) {
            if (expect) {
                assert_int_equal(pkts[i]->pkt_len, expect_len);
                assert_memory_equal(pkt_data(pkts[i]), expect, expect_len);
            }
        }
        pkt_free_bulk(pkts, n);
        got += n;
        if (!n)
            nap(200);
    }
    return got;
}

/* Nothing more arrives for a while (used after the expected count). */
static unsigned drain_rest(struct tport *t)
{
    nap(20000);
    struct pkt_buf *pkts[32];
    unsigned total = 0, n;
    while ((n = pkt_port_rx_burst(t->sink, 0, pkts, 32)) > 0) {
        pkt_free_bulk(pkts, n);
        total += n;
    }
    return total;
}

static void pmd_totals(struct sw_dpif *dp, struct sw_dpif_pmd_stats *sum)
{
    memset(sum, 0, sizeof(*sum));
    for (unsigned i = 0; i < sw_dpif_n_pmds(dp); i++) {
        struct sw_dpif_pmd_stats s;
        assert_int_equal(sw_dpif_pmd_stats(dp, i, &s), 0);
        sum->n_rxq += s.n_rxq;
        sum->packets += s.packets;
        sum->simple_hits += s.simple_hits;
        sum->emc_hits += s.emc_hits;
        sum->mfc_hits += s.mfc_hits;
        sum->upcalls += s.upcalls;
        sum->upcall_fails += s.upcall_fails;
        sum->lost += s.lost;
        sum->busy_cycles += s.busy_cycles;
        sum->idle_cycles += s.idle_cycles;
    }
}

/* Wait until the PMDs processed @packets in total (10 s cap). */
static void wait_processed(struct sw_dpif *dp, uint64_t packets)
{
    struct sw_dpif_pmd_stats s;
    uint64_t deadline = kk_now_us() + 10 * 1000000;
    do {
        pmd_totals(dp, &s);
        if (s.packets >= packets)
            return;
        nap(500);
    } while (kk_now_us() < deadline);
    fail_msg("PMDs processed %llu packets, not %llu", (unsigned long long)s.packets,
             (unsigned long long)packets);
}

static void default_opts(struct sw_dpif_opts *o, struct handler *h)
{
    memset(o, 0, sizeof(*o));
    o->n_pmds = 1;
    o->upcall = handle;
    o->userspace = on_userspace;
    o->upcall_arg = h;
    o->emc_insert_inv_prob = 1;
    o->pool_buffers = 2048;
}

static int setup(void **state)
{
    (void)state;
    if (kk_rcu_register_thread() != 0)
        return -1;
    return pkt_pool_create("dpif_test", 16384, 0, 0, &tpool);
}

static int teardown(void **state)
{
    (void)state;
    pkt_pool_flush_thread_cache(tpool);
    pkt_pool_destroy(tpool);
    kk_rcu_unregister_thread();
    return 0;
}

/* ---- refused calls -------------------------------------------------------- */

static void test_refused(void **state)
{
    (void)state;
    struct handler h;
    handler_init(&h, SW_UPCALL_INSTALL);
    struct sw_dpif_opts o;
    default_opts(&o, &h);
    struct sw_dpif *dp;
    assert_int_equal(sw_dpif_create(NULL, &dp), -EINVAL);
    assert_int_equal(sw_dpif_create(&o, NULL), -EINVAL);
    o.n_pmds = SW_DPIF_MAX_PMDS + 1;
    assert_int_equal(sw_dpif_create(&o, &dp), -EINVAL);
    o.n_pmds = 1;
    assert_int_equal(sw_dpif_create(&o, &dp), 0);

    char err[128] = "";
    uint32_t no = SW_DPIF_PORT_NONE;
    assert_true(sw_dpif_port_add(dp, "x", "nosuchtype:a=b", &no, err, sizeof(err)) < 0);
    assert_true(err[0] != '\0');
    struct tport a;
    tport_init(&a);
    tport_add(dp, &a);
    assert_int_equal(a.no, 0);
    no = SW_DPIF_PORT_NONE;
    assert_int_equal(sw_dpif_port_add(dp, a.name, "ring:name=zz", &no, err, sizeof(err)), -EEXIST);
    no = 0;
    assert_int_equal(sw_dpif_port_add(dp, "other", "ring:name=zz", &no, err, sizeof(err)),
                     -EEXIST);
    no = SW_DPIF_MAX_PORTS;
    assert_int_equal(sw_dpif_port_add(dp, "other", "ring:name=zz", &no, err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(sw_dpif_port_del(dp, 5), -ENOENT);
    assert_int_equal(sw_dpif_port_del(dp, SW_DPIF_PORT_NONE), -ENOENT);
    struct sw_dpif_port_info info;
    assert_int_equal(sw_dpif_port_query(dp, 5, &info), -ENOENT);
    assert_int_equal(sw_dpif_port_by_name(dp, "nope", &no), -ENOENT);
    struct sw_dpif_pmd_stats ps;
    assert_int_equal(sw_dpif_pmd_stats(dp, 1, &ps), -ENOENT);
    assert_int_equal(sw_dpif_rxq_pmd(dp, 0, 1), -1);
    assert_int_equal(sw_dpif_rxq_pmd(dp, 7, 0), -1);
    uint8_t frame[64] = {0};
    uint64_t bad[2] = {0x00080063u, 0}; /* type 99 */
    assert_int_equal(sw_dpif_execute_bytes(dp, frame, sizeof(frame), 0, bad, 8), -EINVAL);

    /* Named lookups and queries of a real port. */
    assert_int_equal(sw_dpif_port_by_name(dp, a.name, &no), 0);
    assert_int_equal(no, a.no);
    assert_int_equal(sw_dpif_port_query(dp, a.no, &info), 0);
    assert_string_equal(info.name, a.name);
    assert_string_equal(info.type, "ring");
    assert_int_equal(info.n_rxq, 1);
    assert_int_equal(sw_dpif_rxq_pmd(dp, a.no, 0), 0);
    sw_dpif_destroy(dp);
    sw_dpif_destroy(NULL);
    tport_fini(&a);
}

/* ---- forwarding and the caches -------------------------------------------- */

struct dump_seen {
    unsigned n;
    struct sw_dpif_flow_info info[8];
    char actions[8][64];
};

static void on_flow(void *arg, const struct sw_dpif_flow_info *info)
{
    struct dump_seen *d = arg;
    if (d->n < 8) {
        d->info[d->n] = *info;
        sw_odp_format(info->actions, info->actions_len, d->actions[d->n], 64, NULL, NULL);
    }
    d->n++;
}

static void test_forward_megaflow_emc(void **state)
{
    (void)state;
    struct handler h;
    handler_init(&h, SW_UPCALL_INSTALL);
    struct sw_dpif_opts o;
    default_opts(&o, &h);
    o.no_simple_match = true; /* this test is about the EMC (test_simple_match) */
    struct sw_dpif *dp;
    assert_int_equal(sw_dpif_create(&o, &dp), 0);
    struct tport a, b;
    tport_init(&a);
    tport_init(&b);
    tport_add(dp, &a);
    tport_add(dp, &b);
    h.out[a.no] = b.no;

    /* 64 frames of 8 microflows: one megaflow (in_port + dl_type + nw_proto
     * + nw_frag), so one upcall. */
    inject(&a, 64, 1000, 8);
    wait_processed(dp, 64);
    assert_int_equal(drain(&b, 64, NULL, 0), 64);
    struct sw_dpif_pmd_stats s;
    pmd_totals(dp, &s);
    assert_int_equal(s.packets, 64);
    assert_int_equal(h.upcalls, 1);
    assert_int_equal(s.upcalls, 1);
    assert_int_equal(s.emc_hits + s.mfc_hits + s.upcalls, 64);
    assert_int_equal(s.lost, 0);
    assert_int_equal(s.n_rxq, 2);
    assert_true(s.busy_cycles > 0);
    assert_int_equal(sw_dpif_flow_count(dp), 1);

    /* Again: every microflow is in the EMC now. Frames come out unchanged. */
    sw_dpif_pmd_stats_clear(dp);
    struct bld f;
    build_udp(&f, 1003, 53);
    inject(&a, 32, 1003, 1);
    wait_processed(dp, 32);
    assert_int_equal(drain(&b, 32, f.b, f.n), 32);
    pmd_totals(dp, &s);
    assert_int_equal(s.packets, 32);
    assert_int_equal(s.emc_hits, 32);
    assert_int_equal(s.mfc_hits, 0);
    assert_int_equal(s.upcalls, 0);

    /* The dump shows the megaflow with the handler's wildcards and counts. */
    struct dump_seen d = {0};
    sw_dpif_flow_dump(dp, on_flow, &d);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.info[0].key.in_port, a.no);
    assert_int_equal(d.info[0].mask.masks.in_port, UINT32_MAX);
    assert_int_equal(d.info[0].mask.masks.tp_src, 0);
    assert_int_equal(d.info[0].mask.masks.nw_src, 0);
    assert_int_equal(d.info[0].stats.packets, 96);
    assert_int_equal(d.info[0].stats.bytes, 96 * (uint64_t)f.n);
    assert_ptr_equal(d.info[0].user, &h);
    char want[16];
    snprintf(want, sizeof(want), "%u", b.no);
    assert_string_equal(d.actions[0], want);

    struct sw_dpif_port_info info;
    assert_int_equal(sw_dpif_port_query(dp, a.no, &info), 0);
    assert_int_equal(info.rx_packets, 96);
    assert_int_equal(sw_dpif_port_query(dp, b.no, &info), 0);
    assert_int_equal(info.tx_packets, 96);
    assert_int_equal(info.tx_bytes, 96 * (uint64_t)f.n);

    sw_dpif_flow_flush(dp);
    assert_int_equal(sw_dpif_flow_count(dp), 0);
    sw_dpif_destroy(dp);
    tport_fini(&a);
    tport_fini(&b);
}

static void test_megaflow_hits_without_emc(void **state)
{
    (void)state;
    struct handler h;
    handler_init(&h, SW_UPCALL_INSTALL);
    struct sw_dpif_opts o;
    default_opts(&o, &h);
    o.emc_insert_inv_prob = UINT32_MAX; /* (practically) never insert */
    o.no_simple_match = true;
    struct sw_dpif *dp;
    assert_int_equal(sw_dpif_create(&o, &dp), 0);
    struct tport a, b;
    tport_init(&a);
    tport_init(&b);
    tport_add(dp, &a);
    tport_add(dp, &b);
    h.out[a.no] = b.no;
    inject(&a, 40, 2000, 20);
    wait_processed(dp, 40);
    assert_int_equal(drain(&b, 40, NULL, 0), 40);
    struct sw_dpif_pmd_stats s;
    pmd_totals(dp, &s);
    assert_int_equal(s.upcalls, 1);
    assert_int_equal(s.emc_hits, 0);
    assert_int_equal(s.mfc_hits, 39);
    sw_dpif_destroy(dp);
    tport_fini(&a);
    tport_fini(&b);
}

struct pushed {
    unsigned calls;
    uint64_t packets, bytes, used_ms;
    void *user;
    uint16_t sports[8];
};

static void on_push(void *arg, const struct sw_flow_key *key, void *user,
                    const struct sw_mfc_flow_stats *delta)
{
    struct pushed *p = arg;
    if (p->calls < 8)
        p->sports[p->calls] = key->tp_src;
    p->calls++;
    p->packets += delta->packets;
    p->bytes += delta->bytes;
    if (delta->used_ms > p->used_ms)
        p->used_ms = delta->used_ms;
    p->user = user;
}

/* Megaflow statistics pushed: what each flow counted since the last push,
 * once, with its key and owner; flows without traffic are left out. */
static void test_stats_push(void **state)
{
    (void)state;
    struct handler h;
    handler_init(&h, SW_UPCALL_INSTALL);
    h.exact_tp_src = true; /* one megaflow per source port */
    struct sw_dpif_opts o;
    default_opts(&o, &h);
    o.n_pmds = 2;
    struct sw_dpif *dp;
    assert_int_equal(sw_dpif_create(&o, &dp), 0);
    struct tport a, b;
    tport_init(&a);
    tport_init(&b);
    tport_add(dp, &a);
    tport_add(dp, &b);
    h.out[a.no] = b.no;
    struct pushed p = {0};
    assert_int_equal(sw_dpif_flow_push(dp, on_push, &p), 0);
    assert_int_equal(sw_dpif_flow_push(NULL, on_push, &p), 0);
    assert_int_equal(sw_dpif_flow_push(dp, NULL, &p), 0);
    inject(&a, 30, 1000, 3); /* 3 microflows, 10 packets each */
    wait_processed(dp, 30);
    assert_int_equal(drain(&b, 30, NULL, 0), 30);
    assert_int_equal(sw_dpif_flow_count(dp), 3);
    assert_int_equal(sw_dpif_flow_push(dp, on_push, &p), 3);
    assert_int_equal(p.calls, 3);
    assert_int_equal(p.packets, 30);
    assert_int_equal(p.bytes % 30, 0);
    assert_true(p.bytes >= 30 * 42);
    assert_ptr_equal(p.user, &h);
    assert_true(p.used_ms > 0);
    unsigned seen = 0;
    for (unsigned i = 0; i < 3; i++)
        seen |= 1u << (p.sports[i] - 1000);
    assert_int_equal(seen, 7);
    /* nothing new: nothing pushed */
    memset(&p, 0, sizeof(p));
    assert_int_equal(sw_dpif_flow_push(dp, on_push, &p), 0);
    /* 4 more packets of one flow: only that flow, only those */
    inject(&a, 4, 1001, 1);
    wait_processed(dp, 34);
    assert_int_equal(drain(&b, 4, NULL, 0), 4);
    assert_int_equal(sw_dpif_flow_push(dp, on_push, &p), 1);
    assert_int_equal(p.packets, 4);
    assert_int_equal(p.sports[0], 1001);
    sw_dpif_destroy(dp);
    tport_fini(&a);
    tport_fini(&b);
}

/* A meter drops what exceeds its rate: 500 packets at once into a meter
 * of 10 packets/s with a burst of 50 (the burst passes, the rest of this
 * instant does not; 450 more would take 45 s to be allowed). */
static void test_meter(void **state)
{
    (void)state;
    struct handler h;
    handler_init(&h, SW_UPCALL_INSTALL);
    h.meter = 7;
    struct sw_dpif_opts o;
    default_opts(&o, &h);
    struct sw_dpif *dp;
    assert_int_equal(sw_dpif_create(&o, &dp), 0);
    struct sw_meter_config mc = {.pktps = true, .n_bands = 1, .bands = {{.rate = 10, .burst = 50}}};
    struct sw_meter_config bad = mc;
    bad.bands[0].rate = 0;
    assert_int_equal(sw_dpif_meter_set(dp, 7, &bad), -EINVAL);
    bad = mc;
    bad.n_bands = 0;
    assert_int_equal(sw_dpif_meter_set(dp, 7, &bad), -EINVAL);
    assert_int_equal(sw_dpif_meter_set(dp, SW_DPIF_MAX_METERS, &mc), -EINVAL);
    assert_int_equal(sw_dpif_meter_set(dp, 7, &mc), 0);
    struct tport a, b;
    tport_init(&a);
    tport_init(&b);
    tport_add(dp, &a);
    tport_add(dp, &b);
    h.out[a.no] = b.no;
    inject(&a, 500, 3000, 1);
    wait_processed(dp, 500);
    /* every packet was processed: what passed is in b's ring (the PMD
     * flushes its batches at the end of each turn) */
    unsigned got = drain_rest(&b);
    print_message("# meter 10 pkt/s, burst 50: %u of 500 passed\n", got);
    assert_true(got >= 50 && got < 100);
    struct sw_meter_stats ms;
    assert_int_equal(sw_dpif_meter_stats(dp, 7, &ms), 0);
    assert_int_equal(ms.packets, 500);
    assert_int_equal(ms.n_bands, 1);
    assert_int_equal(ms.band_packets[0], 500 - got);
    assert_true(ms.bytes >= 500 * 42);
    /* a modify keeps the counters; a kbit/s meter lets far more through */
    struct sw_meter_config fast = {.n_bands = 1, .bands = {{.rate = 1000000, .burst = 1000000}}};
    assert_int_equal(sw_dpif_meter_set(dp, 7, &fast), 0);
    assert_int_equal(sw_dpif_meter_stats(dp, 7, &ms), 0);
    assert_int_equal(ms.packets, 500);
    inject(&a, 100, 3000, 1);
    wait_processed(dp, 600);
    assert_int_equal(drain(&b, 100, NULL, 0), 100);
    /* deleted: the action passes everything */
    assert_int_equal(sw_dpif_meter_del(dp, 7), 0);
    assert_int_equal(sw_dpif_meter_del(dp, 7), -ENOENT);
    assert_int_equal(sw_dpif_meter_stats(dp, 7, &ms), -ENOENT);
    inject(&a, 100, 3000, 1);
    wait_processed(dp, 700);
    assert_int_equal(drain(&b, 100, NULL, 0), 100);
    sw_dpif_destroy(dp);
    tport_fini(&a);
    tport_fini(&b);
}

static void test_no_install_and_consumed(void **state)
{
    (void)state;
    struct handler h;
    handler_init(&h, SW_UPCALL_NO_INSTALL);
    struct sw_dpif_opts o;
    default_opts(&o, &h);
    struct sw_dpif *dp;
    assert_int_equal(sw_dpif_create(&o, &dp), 0);
    struct tport a, b;
    tport_init(&a);
    tport_init(&b);
    tport_add(dp, &a);
    tport_add(dp, &b);
    h.out[a.no] = b.no;
    inject(&a, 20, 3000, 2);
    wait_processed(dp, 20);
    assert_int_equal(drain(&b, 20, NULL, 0), 20);
    assert_int_equal(h.upcalls, 20); /* nothing installed: every packet asks */
    assert_int_equal(sw_dpif_flow_count(dp), 0);

    h.result = SW_UPCALL_CONSUMED;
    inject(&a, 10, 3000, 2);
    wait_processed(dp, 30);
    assert_int_equal(drain_rest(&b), 0);
    assert_int_equal(h.upcalls, 30);
    assert_int_equal(sw_dpif_flow_count(dp), 0);
    struct sw_dpif_pmd_stats s;
    pmd_totals(dp, &s);
    assert_int_equal(s.upcalls, 30);
    assert_int_equal(s.upcall_fails, 0);
    assert_int_equal(s.lost, 0);
    sw_dpif_destroy(dp);
    tport_fini(&a);
    tport_fini(&b);
    /* Consumed packets were freed: every buffer is back. */
    pkt_pool_flush_thread_cache(tpool);
    assert_int_equal(pkt_pool_avail(tpool), 16384);
}

static void test_max_flows(void **state)
{
    (void)state;
    struct handler h;
    handler_init(&h, SW_UPCALL_INSTALL);
    h.exact_tp_src = true;
    struct sw_dpif_opts o;
    default_opts(&o, &h);
    o.max_flows = 3;
    struct sw_dpif *dp;
    assert_int_equal(sw_dpif_create(&o, &dp), 0);
    struct tport a, b;
    tport_init(&a);
    tport_init(&b);
    tport_add(dp, &a);
    tport_add(dp, &b);
    h.out[a.no] = b.no;
    inject(&a, 10, 4000, 10);
    wait_processed(dp, 10);
    assert_int_equal(drain(&b, 10, NULL, 0), 10); /* all forwarded from the slow path */
    assert_int_equal(sw_dpif_flow_count(dp), 3);
    struct sw_dpif_pmd_stats s;
    pmd_totals(dp, &s);
    assert_int_equal(s.upcalls, 10);
    assert_int_equal(s.upcall_fails, 7);
    sw_dpif_destroy(dp);
    tport_fini(&a);
    tport_fini(&b);
}

static void test_expiry(void **state)
{
    (void)state;
    struct handler h;
    handler_init(&h, SW_UPCALL_INSTALL);
    struct sw_dpif_opts o;
    default_opts(&o, &h);
    o.flow_idle_ms = 20;
    struct sw_dpif *dp;
    assert_int_equal(sw_dpif_create(&o, &dp), 0);
    struct tport a, b;
    tport_init(&a);
    tport_init(&b);
    tport_add(dp, &a);
    tport_add(dp, &b);
    h.out[a.no] = b.no;
    inject(&a, 5, 5000, 1);
    wait_processed(dp, 5);
    assert_int_equal(drain(&b, 5, NULL, 0), 5);
    /* The expiry check runs once a second: wait (bounded) for it. */
    uint64_t deadline = kk_now_us() + 10 * 1000000;
    while (sw_dpif_flow_count(dp) != 0 && kk_now_us() < deadline)
        nap(10000);
    assert_int_equal(sw_dpif_flow_count(dp), 0);
    /* The next packet misses again (its EMC entry saw the flow die). */
    inject(&a, 1, 5000, 1);
    wait_processed(dp, 6);
    assert_int_equal(drain(&b, 1, NULL, 0), 1);
    assert_int_equal(h.upcalls, 2);
    assert_int_equal(sw_dpif_flow_count(dp), 1);
    sw_dpif_destroy(dp);
    tport_fini(&a);
    tport_fini(&b);
}

struct reval_arg {
    uint16_t delete_tp_src;
    struct sw_odp_buf replacement;
    unsigned seen;
};

static enum sw_mfc_reval reval(void *arg, const struct sw_flow_key *key,
                               const struct sw_flow_mask *mask, const void *actions,
                               size_t actions_len, void *user, const void **new_actions,
                               size_t *new_len)
{
    (void)mask, (void)actions, (void)actions_len, (void)user;
    struct reval_arg *r = arg;
    r->seen++;
    if (key->tp_src == r->delete_tp_src)
        return SW_MFC_DELETE;
    *new_actions = r->replacement.data;
    *new_len = r->replacement.len;
    return SW_MFC_REPLACE;
}

static void test_revalidate(void **state)
{
    (void)state;
    struct handler h;
    handler_init(&h, SW_UPCALL_INSTALL);
    h.exact_tp_src = true;
    struct sw_dpif_opts o;
    default_opts(&o, &h);
    struct sw_dpif *dp;
    assert_int_equal(sw_dpif_create(&o, &dp), 0);
    struct tport a, b, c;
    tport_init(&a);
    tport_init(&b);
    tport_init(&c);
    tport_add(dp, &a);
    tport_add(dp, &b);
    tport_add(dp, &c);
    h.out[a.no] = b.no;
    inject(&a, 2, 6000, 2); /* tp_src 6000 and 6001 */
    wait_processed(dp, 2);
    assert_int_equal(drain(&b, 2, NULL, 0), 2);
    assert_int_equal(sw_dpif_flow_count(dp), 2);

    struct reval_arg r = {.delete_tp_src = 6000};
    sw_odp_buf_init(&r.replacement);
    sw_odp_put_push_vlan(&r.replacement, PKT_ETH_TYPE_VLAN, 42);
    sw_odp_put_output(&r.replacement, c.no);
    assert_int_equal(sw_dpif_revalidate(dp, reval, &r), 1);
    assert_int_equal(r.seen, 2);
    assert_int_equal(sw_dpif_flow_count(dp), 1);

    /* 6001 takes the replaced actions (tagged, to c); 6000 asks again. */
    struct bld f;
    build_udp(&f, 6001, 53);
    uint8_t tagged[2048];
    memcpy(tagged, f.b, 12);
    uint8_t tag[4] = {0x81, 0x00, 0x00, 42};
    memcpy(tagged + 12, tag, 4);
    memcpy(tagged + 16, f.b + 12, f.n - 12);
    inject(&a, 1, 6001, 1);
    wait_processed(dp, 3);
    assert_int_equal(drain(&c, 1, tagged, f.n + 4), 1);
    inject(&a, 1, 6000, 1);
    wait_processed(dp, 4);
    assert_int_equal(drain(&b, 1, NULL, 0), 1);
    assert_int_equal(h.upcalls, 3);
    assert_int_equal(sw_dpif_flow_count(dp), 2);

    sw_dpif_flow_flush(dp);
    assert_int_equal(sw_dpif_flow_count(dp), 0);
    sw_dpif_destroy(dp);
    tport_fini(&a);
    tport_fini(&b);
    tport_fini(&c);
}

/* ---- simple match ---------------------------------------------------------- */

static void build_tcp(struct bld *b, uint16_t sport, uint16_t dport)
{
    b_init(b);
    b_eth(b, PKT_ETH_TYPE_IPV4);
    b_ipv4(b, PKT_IPPROTO_TCP, 0, NULL, 0);
    b_tcp(b, sport, dport, PKT_TCP_SYN | PKT_TCP_ACK, 0);
    b_payload(b, 6);
    b_finish(b);
}

/* Send the frame @f @n times. */
static void inject_frame(struct tport *t, const struct bld *f, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct pkt_buf *p = pkt_from_bytes(tpool, f->b, f->n);
        assert_non_null(p);
        while (pkt_port_tx_burst(t->inj, 0, &p, 1) != 1)
            nap(100);
    }
}

/* Revalidation as ofproto does it: decide again on the megaflow's (masked)
 * key; wildcards the megaflow does not cover delete it, else the new
 * actions replace the old. */
struct reval_by_handler {
    struct handler *h;
    struct sw_odp_buf actions;
};

static enum sw_mfc_reval reval_handler(void *arg, const struct sw_flow_key *key,
                                       const struct sw_flow_mask *mask, const void *actions,
                                       size_t actions_len, void *user, const void **new_actions,
                                       size_t *new_len)
{
    (void)actions, (void)actions_len, (void)user;
    struct reval_by_handler *r = arg;
    struct sw_upcall up;
    memset(&up, 0, sizeof(up));
    up.key = key;
    sw_odp_buf_init(&up.actions);
    up.wc.masks.in_port = UINT32_MAX;
    up.wc.masks.dl_type = UINT16_MAX;
    up.wc.masks.nw_proto = UINT8_MAX;
    up.wc.masks.nw_frag = UINT8_MAX;
    unsigned upcalls = r->h->upcalls;
    handle(r->h, &up);
    r->h->upcalls = upcalls; /* not a packet's upcall */
    if (!sw_flow_mask_is_subset(&up.wc, mask))
        return SW_MFC_DELETE;
    r->actions = up.actions;
    *new_actions = r->actions.data;
    *new_len = r->actions.len;
    return SW_MFC_REPLACE;
}

/* @n frames of @want came out of @t, unchanged, and nothing else. */
static void expect_frames(struct tport *t, const struct bld *want, unsigned n)
{
    assert_int_equal(drain(t, n, want->b, want->n), n);
    assert_int_equal(drain_rest(t), 0);
}

static void test_simple_match(void **state)
{
    (void)state;
    struct handler h;
    handler_init(&h, SW_UPCALL_INSTALL);
    struct sw_dpif_opts o;
    default_opts(&o, &h);
    struct sw_dpif *dp;
    assert_int_equal(sw_dpif_create(&o, &dp), 0);
    struct tport a, b, c;
    tport_init(&a);
    tport_init(&b);
    tport_init(&c);
    tport_add(dp, &a);
    tport_add(dp, &b);
    tport_add(dp, &c);
    h.out[a.no] = b.no;
    h.tcp_out = c.no;
    struct sw_dpif_pmd_stats s;

    /* 64 frames of 8 microflows: one megaflow (in_port, dl_type, nw_proto,
     * nw_frag: simple), one upcall; once a burst is all that megaflow's,
     * the port's bursts take the simple match. */
    inject(&a, 64, 1000, 8);
    wait_processed(dp, 64);
    assert_int_equal(drain(&b, 64, NULL, 0), 64);
    pmd_totals(dp, &s);
    assert_int_equal(h.upcalls, 1);
    assert_int_equal(s.upcalls, 1);
    assert_int_equal(s.simple_hits + s.emc_hits + s.mfc_hits + s.upcalls, 64);
    assert_int_equal(s.lost, 0);
    assert_int_equal(sw_dpif_flow_count(dp), 1);

    /* Now every burst goes by the simple match, frames unchanged. */
    sw_dpif_pmd_stats_clear(dp);
    struct bld udp53, udp99, tcp;
    build_udp(&udp53, 1003, 53);
    build_udp(&udp99, 1003, 99);
    build_tcp(&tcp, 1003, 80);
    inject_frame(&a, &udp53, 32);
    wait_processed(dp, 32);
    expect_frames(&b, &udp53, 32);
    pmd_totals(dp, &s);
    assert_int_equal(s.simple_hits, 32);
    assert_int_equal(s.emc_hits + s.mfc_hits + s.upcalls, 0);

    /* Statistics are credited to the megaflow all the same. */
    struct dump_seen d = {0};
    sw_dpif_flow_dump(dp, on_flow, &d);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.info[0].stats.packets, 96);
    assert_int_equal(d.info[0].stats.bytes, 96 * (uint64_t)udp53.n);
    assert_int_equal(d.info[0].mask.masks.tp_src, 0);

    /* A TCP frame does not agree with the UDP megaflow: its burst takes the
     * normal path, and it goes where its own decision says. */
    sw_dpif_pmd_stats_clear(dp);
    inject_frame(&a, &udp53, 3);
    inject_frame(&a, &tcp, 1);
    inject_frame(&a, &udp53, 3);
    wait_processed(dp, 7);
    expect_frames(&b, &udp53, 6);
    expect_frames(&c, &tcp, 1);
    assert_int_equal(h.upcalls, 2);
    assert_int_equal(sw_dpif_flow_count(dp), 2);

    /* Revalidation replacing the actions (tag and send to c): the next
     * packets follow the new actions, still by the simple match. */
    struct reval_arg r = {.delete_tp_src = 1};
    sw_odp_buf_init(&r.replacement);
    sw_odp_put_push_vlan(&r.replacement, PKT_ETH_TYPE_VLAN, 42);
    sw_odp_put_output(&r.replacement, c.no);
    assert_int_equal(sw_dpif_revalidate(dp, reval, &r), 0);
    struct bld tagged;
    memcpy(&tagged, &udp53, sizeof(tagged));
    memcpy(tagged.b, udp53.b, 12);
    const uint8_t tag[4] = {0x81, 0x00, 0x00, 42};
    memcpy(tagged.b + 12, tag, 4);
    memcpy(tagged.b + 16, udp53.b + 12, udp53.n - 12);
    tagged.n = udp53.n + 4;
    /* One frame per burst: a burst that did not agree (the mixed one above)
     * makes the port skip its simple match for SIMPLE_BACKOFF (8) bursts;
     * after ten, the simple match is back, with the new actions. */
    for (unsigned k = 1; k <= 14; k++) {
        if (k == 11)
            sw_dpif_pmd_stats_clear(dp);
        inject_frame(&a, &udp53, 1);
        wait_processed(dp, k <= 10 ? 0 : k - 10);
        expect_frames(&c, &tagged, 1);
    }
    pmd_totals(dp, &s);
    assert_int_equal(s.simple_hits, 4);
    assert_int_equal(s.upcalls, 0);
    assert_int_equal(drain_rest(&b), 0);

    /* A "higher-priority rule" that looks at tp_dst (frames to UDP port 99
     * go to c): revalidation deletes the megaflow, which does not cover
     * tp_dst, and the very next packets are decided by the new rule. */
    h.rule_tp_dst = true;
    h.rule_tp_dst_val = 99;
    h.rule_tp_dst_out = c.no;
    struct reval_by_handler rh = {.h = &h};
    assert_int_equal(sw_dpif_revalidate(dp, reval_handler, &rh), 2);
    assert_int_equal(sw_dpif_flow_count(dp), 0);
    inject_frame(&a, &udp99, 1);
    inject_frame(&a, &udp53, 8);
    inject_frame(&a, &udp99, 1);
    wait_processed(dp, 4 + 10);
    expect_frames(&c, &udp99, 2);
    expect_frames(&b, &udp53, 8);
    assert_int_equal(sw_dpif_flow_count(dp), 2); /* tp_dst exact: not simple */
    sw_dpif_pmd_stats_clear(dp);
    inject_frame(&a, &udp53, 8);
    wait_processed(dp, 8);
    expect_frames(&b, &udp53, 8);
    pmd_totals(dp, &s);
    assert_int_equal(s.simple_hits, 0);
    assert_int_equal(s.emc_hits, 8);

    /* The rule goes again: revalidation keeps the tp_dst megaflows (their
     * wildcards still cover the decision); a flush removes them and the
     * simple match comes back. */
    h.rule_tp_dst = false;
    sw_dpif_flow_flush(dp);
    unsigned before = h.upcalls;
    inject_frame(&a, &udp99, 40);
    wait_processed(dp, 8 + 40);
    expect_frames(&b, &udp99, 40);
    assert_int_equal(h.upcalls, before + 1);
    sw_dpif_pmd_stats_clear(dp);
    inject_frame(&a, &udp53, 8);
    wait_processed(dp, 8);
    expect_frames(&b, &udp53, 8);
    pmd_totals(dp, &s);
    assert_int_equal(s.simple_hits, 8);

    sw_dpif_destroy(dp);
    tport_fini(&a);
    tport_fini(&b);
    tport_fini(&c);
}

/* With a non-simple megaflow (tp_src exact) a port never takes the simple
 * match; and with the option off no port does. */
static void test_simple_match_not_taken(void **state)
{
    (void)state;
    for (int off = 0; off < 2; off++) {
        struct handler h;
        handler_init(&h, SW_UPCALL_INSTALL);
        h.exact_tp_src = !off;
        struct sw_dpif_opts o;
        default_opts(&o, &h);
        o.no_simple_match = off;
        struct sw_dpif *dp;
        assert_int_equal(sw_dpif_create(&o, &dp), 0);
        struct tport a, b;
        tport_init(&a);
        tport_init(&b);
        tport_add(dp, &a);
        tport_add(dp, &b);
        h.out[a.no] = b.no;
        struct bld f;
        build_udp(&f, 1003, 53);
        inject_frame(&a, &f, 64);
        wait_processed(dp, 64);
        expect_frames(&b, &f, 64);
        struct sw_dpif_pmd_stats s;
        pmd_totals(dp, &s);
        assert_int_equal(s.simple_hits, 0);
        assert_int_equal(s.upcalls, 1);
        assert_int_equal(s.emc_hits + s.mfc_hits, 63);
        sw_dpif_destroy(dp);
        tport_fini(&a);
        tport_fini(&b);
    }
}

/* @f as a chain whose first segment holds only @first bytes. */
static void inject_split(struct tport *t, const struct bld *f, uint32_t first)
{
    struct pkt_buf *p = pkt_from_bytes(tpool, f->b, first);
    struct pkt_buf *rest = pkt_from_bytes(tpool, f->b + first, (uint32_t)(f->n - first));
    assert_non_null(p);
    assert_non_null(rest);
    pkt_chain(p, rest);
    while (pkt_port_tx_burst(t->inj, 0, &p, 1) != 1)
        nap(100);
}

/* @n frames equal to @want (all segments) come out of @t, nothing else. */
static void expect_whole(struct tport *t, const struct bld *want, unsigned n)
{
    unsigned got = 0;
    uint64_t deadline = kk_now_us() + 10 * 1000000;
    while (got < n && kk_now_us() < deadline) {
        struct pkt_buf *p;
        if (pkt_port_rx_burst(t->sink, 0, &p, 1) == 0) {
            nap(200);
            continue;
        }
        uint8_t buf[sizeof(want->b)];
        assert_int_equal(p->pkt_len, want->n);
        assert_int_equal(pkt_read(p, 0, buf, p->pkt_len), want->n);
        assert_memory_equal(buf, want->b, want->n);
        pkt_free(p);
        got++;
    }
    assert_int_equal(got, n);
    assert_int_equal(drain_rest(t), 0);
}

/*
 * Frames whose headers run past their first segment (as a large frame from
 * a vhost-user port arrives, its payload lent; or a jumbo frame's IPv6
 * extension headers): the PMD pulls them up and decides on the transport
 * port like for any frame, through the simple, EMC and megaflow paths.
 */
static void test_headers_across_segments(void **state)
{
    (void)state;
    struct handler h;
    handler_init(&h, SW_UPCALL_INSTALL);
    struct sw_dpif_opts o;
    default_opts(&o, &h);
    struct sw_dpif *dp;
    assert_int_equal(sw_dpif_create(&o, &dp), 0);
    struct tport a, b, c;
    tport_init(&a);
    tport_init(&b);
    tport_init(&c);
    tport_add(dp, &a);
    tport_add(dp, &b);
    tport_add(dp, &c);
    h.out[a.no] = b.no;
    h.rule_tp_dst = true; /* UDP to port 99 goes to c */
    h.rule_tp_dst_val = 99;
    h.rule_tp_dst_out = c.no;
    struct bld udp53, udp99;
    build_udp(&udp53, 1000, 53);
    build_udp(&udp99, 1000, 99);
    /* Cut inside the Ethernet header, the IP header and the UDP header. */
    static const uint32_t cuts[] = {10, 20, 36, 14 + 20 + 3};
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < KK_ARRAY_SIZE(cuts); i++) {
            inject_split(&a, &udp99, cuts[i]);
            inject_split(&a, &udp53, cuts[i]);
        }
    wait_processed(dp, 24);
    expect_whole(&c, &udp99, 12);
    expect_whole(&b, &udp53, 12);
    assert_int_equal(h.upcalls, 2);
    sw_dpif_destroy(dp);
    tport_fini(&a);
    tport_fini(&b);
    tport_fini(&c);
}

/* The same with the real slow path: an OpenFlow bridge whose one rule is
 * in_port=1,actions=output:2 (priority 32768; a simple megaflow). A
 * higher-priority rule on tp_dst takes effect for the very next packets
 * once revalidation ran (as kvmkit-switchd does after a flow-mod), and so
 * does its removal. */
static void test_simple_match_openflow(void **state)
{
    (void)state;
    struct sw_ofproto_settings bs = {.name = "br0", .no_default_flow = true};
    struct sw_ofproto *ofp;
    assert_int_equal(sw_ofproto_create(&bs, &ofp), 0);
    struct sw_dpif_opts o;
    default_opts(&o, NULL);
    o.upcall = sw_ofproto_upcall_cb;
    o.userspace = NULL;
    o.upcall_arg = ofp;
    struct sw_dpif *dp;
    assert_int_equal(sw_dpif_create(&o, &dp), 0);
    struct tport t[3];
    for (unsigned i = 0; i < 3; i++) {
        tport_init(&t[i]);
        tport_add(dp, &t[i]);
        char name[8];
        snprintf(name, sizeof(name), "eth%u", i + 1);
        struct sw_port_settings ps = {.name = name, .ofport = i + 1, .dp_port = t[i].no};
        assert_int_equal(sw_ofproto_port_add(ofp, &ps, NULL), 0);
    }
    char err[256];
    assert_int_equal(sw_ofproto_add_flow(ofp, "in_port=1,actions=output:2", err, sizeof(err)), 0);
    sw_dpif_revalidate(dp, sw_ofproto_mfc_reval, ofp);
    struct bld udp53, udp99;
    build_udp(&udp53, 1003, 53);
    build_udp(&udp99, 1003, 99);
    inject_frame(&t[0], &udp53, 40);
    wait_processed(dp, 40);
    expect_frames(&t[1], &udp53, 40);
    struct sw_dpif_pmd_stats s;
    sw_dpif_pmd_stats_clear(dp);
    inject_frame(&t[0], &udp53, 8);
    wait_processed(dp, 8);
    expect_frames(&t[1], &udp53, 8);
    pmd_totals(dp, &s);
    assert_int_equal(s.simple_hits, 8);

    /* The new rule, as kvmkit-switchd applies it: add, then revalidate. */
    assert_int_equal(sw_ofproto_add_flow(ofp, "priority=40000,udp,in_port=1,tp_dst=99,"
                                              "actions=output:3", err, sizeof(err)), 0);
    assert_int_equal(sw_dpif_revalidate(dp, sw_ofproto_mfc_reval, ofp), 1);
    sw_dpif_pmd_stats_clear(dp);
    inject_frame(&t[0], &udp99, 1);
    inject_frame(&t[0], &udp53, 8);
    inject_frame(&t[0], &udp99, 1);
    wait_processed(dp, 10);
    expect_frames(&t[2], &udp99, 2);
    expect_frames(&t[1], &udp53, 8);
    pmd_totals(dp, &s);
    assert_int_equal(s.simple_hits, 0);

    /* And gone again: frames to port 99 follow the first rule at once. */
    unsigned deleted = 0;
    assert_int_equal(sw_ofproto_del_flows(ofp, "udp,in_port=1,tp_dst=99", false, &deleted, err,
                                          sizeof(err)), 0);
    assert_int_equal(deleted, 1);
    sw_dpif_revalidate(dp, sw_ofproto_mfc_reval, ofp);
    inject_frame(&t[0], &udp99, 4);
    wait_processed(dp, 14);
    expect_frames(&t[1], &udp99, 4);
    assert_int_equal(drain_rest(&t[2]), 0);

    sw_dpif_destroy(dp);
    sw_ofproto_destroy(ofp);
    for (unsigned i = 0; i < 3; i++)
        tport_fini(&t[i]);
}

static void test_execute(void **state)
{
    (void)state;
    struct handler h;
    handler_init(&h, SW_UPCALL_INSTALL);
    struct sw_dpif_opts o;
    default_opts(&o, &h);
    struct sw_dpif *dp;
    assert_int_equal(sw_dpif_create(&o, &dp), 0);
    struct tport a, b;
    tport_init(&a);
    tport_init(&b);
    tport_add(dp, &a);
    tport_add(dp, &b);

    struct bld f;
    build_udp(&f, 7000, 53);
    struct sw_odp_buf act;
    sw_odp_buf_init(&act);
    sw_odp_put_output(&act, a.no);
    sw_odp_put_push_vlan(&act, PKT_ETH_TYPE_VLAN, 7);
    struct sw_odp_userspace us = {.reason = 1, .cookie = 0x77};
    sw_odp_put(&act, SW_ODP_USERSPACE, (const uint8_t *)&us + 4, sizeof(us) - 4);
    sw_odp_put_output(&act, b.no);
    assert_int_equal(sw_dpif_execute_bytes(dp, f.b, f.n, 3, act.data, act.len), 0);
    assert_int_equal(drain(&a, 1, f.b, f.n), 1);
    uint8_t tagged[2048];
    memcpy(tagged, f.b, 12);
    uint8_t tag[4] = {0x81, 0x00, 0x00, 7};
    memcpy(tagged + 12, tag, 4);
    memcpy(tagged + 16, f.b + 12, f.n - 12);
    assert_int_equal(drain(&b, 1, tagged, f.n + 4), 1);
    assert_int_equal(h.userspace_calls, 1);
    assert_int_equal(h.userspace_in_port, 3);
    assert_int_equal(h.userspace_cookie, 0x77);

    /* From a pkt_buf, which stays the caller's. */
    struct pkt_buf *p = pkt_from_bytes(tpool, f.b, f.n);
    sw_odp_buf_init(&act);
    sw_odp_put_output(&act, b.no);
    assert_int_equal(sw_dpif_execute(dp, p, SW_DPIF_PORT_NONE, act.data, act.len), 0);
    assert_int_equal(drain(&b, 1, f.b, f.n), 1);
    assert_int_equal(p->pkt_len, f.n);
    pkt_free(p);
    /* Nothing went through the PMDs. */
    struct sw_dpif_pmd_stats s;
    pmd_totals(dp, &s);
    assert_int_equal(s.packets, 0);
    assert_int_equal(h.upcalls, 0);
    sw_dpif_destroy(dp);
    tport_fini(&a);
    tport_fini(&b);
}

/* ---- ports come and go while two PMDs forward ---------------------------- */

struct churn {
    struct tport *ports;
    unsigned n_ports;
    unsigned to_send;
    unsigned sent;     /* atomic */
    unsigned received; /* atomic */
    bool stop;         /* atomic */
};

static void *injector(void *arg)
{
    struct churn *c = arg;
    unsigned i = 0;
    while (i < c->to_send) {
        struct tport *t = &c->ports[i % c->n_ports];
        struct bld b;
        build_udp(&b, (uint16_t)(100 + i % 50), 53);
        struct pkt_buf *pkts[16];
        unsigned n = 0;
        while (n < 16 && pkt_alloc_bulk(tpool, &pkts[n], 1) == 0) {
            memcpy(pkt_append(pkts[n], b.n), b.b, b.n);
            n++;
        }
        unsigned k = pkt_port_tx_burst(t->inj, 0, pkts, (uint16_t)n);
        pkt_free_bulk(pkts + k, n - k);
        i += k;
        __atomic_store_n(&c->sent, i, __ATOMIC_RELEASE);
        if (k < n)
            nap(100);
    }
    return NULL;
}

static void *drainer(void *arg)
{
    struct churn *c = arg;
    while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
        unsigned got = 0;
        for (unsigned i = 0; i < c->n_ports; i++) {
            struct pkt_buf *pkts[32];
            unsigned n = pkt_port_rx_burst(c->ports[i].sink, 0, pkts, 32);
            pkt_free_bulk(pkts, n);
            got += n;
        }
        __atomic_add_fetch(&c->received, got, __ATOMIC_RELEASE);
        if (!got)
            nap(100);
    }
    return NULL;
}

/* The PMD and measured cycles of port @no's queue 0. */
static struct sw_dpif_rxq_load rxq0(struct sw_dpif *dp, uint32_t no)
{
    struct sw_dpif_rxq_load l;
    assert_int_equal(sw_dpif_rxq_load(dp, no, 0, &l), 0);
    return l;
}

/* A datapath with 2 PMDs and 4 ring ports, for the queue assignment tests. */
static struct sw_dpif *four_ports_two_pmds(struct handler *h, struct tport t[4])
{
    handler_init(h, SW_UPCALL_INSTALL);
    struct sw_dpif_opts o;
    default_opts(&o, h);
    o.n_pmds = 2;
    struct sw_dpif *dp;
    assert_int_equal(sw_dpif_create(&o, &dp), 0);
    for (int i = 0; i < 4; i++) {
        tport_init(&t[i]);
        tport_add(dp, &t[i]);
    }
    return dp;
}

/* Its end: every packet buffer back in the pool. */
static void close_four_ports(struct sw_dpif *dp, struct tport t[4])
{
    sw_dpif_destroy(dp);
    for (int i = 0; i < 4; i++)
        tport_fini(&t[i]);
    pkt_pool_flush_thread_cache(tpool);
    assert_int_equal(pkt_pool_avail(tpool), 16384);
}

/* Queues are dealt out by measured load: the busy one gets a PMD alone. */
static void test_rxq_assign_by_load(void **state)
{
    (void)state;
    struct handler h;
    struct tport t[4];
    struct sw_dpif *dp = four_ports_two_pmds(&h, t);
    struct sw_dpif_rxq_load l;
    assert_int_equal(sw_dpif_rxq_load(dp, t[0].no, 1, &l), -ENOENT);
    assert_int_equal(sw_dpif_rxq_load(dp, 999, 0, &l), -ENOENT);
    /* No load yet: round robin in port order. */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(rxq0(dp, t[i].no).pmd, i % 2);
        assert_int_equal(rxq0(dp, t[i].no).cycles, 0);
    }
    assert_true(rxq0(dp, t[0].no).window_cycles > 0);

    /* Traffic into port 0 only (out through port 1). */
    h.out[t[0].no] = t[1].no;
    h.out[t[2].no] = t[3].no;
    inject(&t[0], 4000, 1000, 4);
    assert_int_equal(drain(&t[1], 4000, NULL, 0), 4000);
    wait_processed(dp, 4000);
    assert_true(rxq0(dp, t[0].no).cycles > 0);
    for (int i = 1; i < 4; i++)
        assert_int_equal(rxq0(dp, t[i].no).cycles, 0);
    assert_int_equal(sw_dpif_rebalance(dp), 0);
    /* Port 0 keeps PMD 0 to itself; the idle queues share PMD 1. */
    assert_int_equal(rxq0(dp, t[0].no).pmd, 0);
    for (int i = 1; i < 4; i++)
        assert_int_equal(rxq0(dp, t[i].no).pmd, 1);

    /* Now port 2 carries the traffic: it stays where it is, alone. */
    inject(&t[2], 4000, 1000, 4);
    assert_int_equal(drain(&t[3], 4000, NULL, 0), 4000);
    wait_processed(dp, 8000);
    assert_true(rxq0(dp, t[2].no).cycles > 0);
    assert_int_equal(rxq0(dp, t[0].no).cycles, 0);
    assert_int_equal(sw_dpif_rebalance(dp), 0);
    assert_int_equal(rxq0(dp, t[2].no).pmd, 1);
    for (int i = 0; i < 4; i++)
        if (i != 2)
            assert_int_equal(rxq0(dp, t[i].no).pmd, 0);

    /* Forwarding goes on after the moves. */
    inject(&t[0], 500, 1000, 4);
    assert_int_equal(drain(&t[1], 500, NULL, 0), 500);
    assert_int_equal(drain_rest(&t[1]), 0);
    close_four_ports(dp, t);
}

/* Automatic rebalancing: it moves queues only when the busiest PMD is busy
 * enough and a reassignment would even out the PMDs by enough. */
static void test_rxq_auto_lb(void **state)
{
    (void)state;
    struct handler h;
    struct tport t[4];
    struct sw_dpif *dp = four_ports_two_pmds(&h, t);
    struct sw_dpif_auto_lb lb;
    assert_int_equal(sw_dpif_auto_lb(dp, 101, 25, &lb), -EINVAL);
    assert_int_equal(sw_dpif_auto_lb(NULL, 0, 25, &lb), -EINVAL);
    /* Round robin: ports 0 and 2 on PMD 0, 1 and 3 on PMD 1. */
    assert_int_equal(rxq0(dp, t[0].no).pmd, 0);
    assert_int_equal(rxq0(dp, t[2].no).pmd, 0);
    /* No traffic: nothing to even out. */
    assert_int_equal(sw_dpif_auto_lb(dp, 0, 25, &lb), 0);
    assert_false(lb.moved);
    assert_int_equal(lb.improvement_pct, 0);

    /* Traffic into ports 0 and 2, both polled by PMD 0. */
    h.out[t[0].no] = t[1].no;
    h.out[t[2].no] = t[3].no;
    inject(&t[0], 4000, 1000, 4);
    inject(&t[2], 4000, 1000, 4);
    assert_int_equal(drain(&t[1], 4000, NULL, 0), 4000);
    assert_int_equal(drain(&t[3], 4000, NULL, 0), 4000);
    wait_processed(dp, 8000);
    /* Busy threshold not reached (a test's PMDs are mostly idle): no move,
     * and the window starts again. */
    assert_int_equal(sw_dpif_auto_lb(dp, 100, 25, &lb), 0);
    assert_false(lb.moved);
    assert_true(lb.busiest_pct < 100);
    /* Split, the loads would even out: by 4AB/(A+B)^2 for loads A and B,
     * how much depends on the machine (a preempted burst counts long). */
    assert_true(lb.improvement_pct >= 1);
    assert_int_equal(rxq0(dp, t[0].no).pmd, 0);
    assert_int_equal(rxq0(dp, t[2].no).pmd, 0);

    /* Again, with no busy threshold: the two loaded queues are split. */
    inject(&t[0], 4000, 1000, 4);
    inject(&t[2], 4000, 1000, 4);
    assert_int_equal(drain(&t[1], 4000, NULL, 0), 4000);
    assert_int_equal(drain(&t[3], 4000, NULL, 0), 4000);
    wait_processed(dp, 16000);
    assert_int_equal(sw_dpif_auto_lb(dp, 0, 1, &lb), 1);
    assert_true(lb.moved);
    assert_true(lb.improvement_pct >= 1);
    assert_int_not_equal(rxq0(dp, t[0].no).pmd, rxq0(dp, t[2].no).pmd);

    /* One loaded queue alone on its PMD: no better assignment exists. */
    int alone = rxq0(dp, t[0].no).pmd;
    inject(&t[0], 4000, 1000, 4);
    assert_int_equal(drain(&t[1], 4000, NULL, 0), 4000);
    wait_processed(dp, 20000);
    assert_int_equal(sw_dpif_auto_lb(dp, 0, 1, &lb), 0);
    assert_false(lb.moved);
    assert_int_equal(rxq0(dp, t[0].no).pmd, alone);

    /* Forwarding goes on after the move. */
    inject(&t[2], 500, 1000, 4);
    assert_int_equal(drain(&t[3], 500, NULL, 0), 500);
    assert_int_equal(drain_rest(&t[3]), 0);
    close_four_ports(dp, t);
}

static void test_port_churn_two_pmds(void **state)
{
    (void)state;
    struct handler h;
    handler_init(&h, SW_UPCALL_INSTALL);
    struct sw_dpif_opts o;
    default_opts(&o, &h);
    o.n_pmds = 2;
    o.pool_buffers = 4096;
    struct sw_dpif *dp;
    assert_int_equal(sw_dpif_create(&o, &dp), 0);
    assert_int_equal(sw_dpif_n_pmds(dp), 2);
    struct tport ports[3];
    for (int i = 0; i < 3; i++) {
        tport_init(&ports[i]);
        tport_add(dp, &ports[i]);
    }
    /* 0 <-> 1, 2 -> 0 */
    h.out[ports[0].no] = ports[1].no;
    h.out[ports[1].no] = ports[0].no;
    h.out[ports[2].no] = ports[0].no;
    /* Round robin over two PMDs. */
    assert_int_equal(sw_dpif_rxq_pmd(dp, ports[0].no, 0), 0);
    assert_int_equal(sw_dpif_rxq_pmd(dp, ports[1].no, 0), 1);
    assert_int_equal(sw_dpif_rxq_pmd(dp, ports[2].no, 0), 0);

    struct churn c = {.ports = ports, .n_ports = 3, .to_send = 60000};
    pthread_t inj, drn;
    assert_int_equal(pthread_create(&inj, NULL, injector, &c), 0);
    assert_int_equal(pthread_create(&drn, NULL, drainer, &c), 0);
    for (int round = 0; round < 30; round++) {
        /* Remove a port (its queue's packets wait in the ring; packets
         * sent to it are lost and counted) and bring it back: the other
         * queues move between the PMDs each time. */
        struct tport *t = &ports[round % 3];
        uint32_t no = t->no;
        assert_int_equal(sw_dpif_port_del(dp, no), 0);
        struct sw_dpif_port_info info;
        assert_int_equal(sw_dpif_port_query(dp, no, &info), -ENOENT);
        nap(1000);
        tport_add(dp, t);
        assert_int_equal(t->no, no);
        if (round % 5 == 0)
            sw_dpif_flow_flush(dp);
    }
    kk_rcu_thread_offline();
    pthread_join(inj, NULL);
    kk_rcu_thread_online();

    /* Every packet sent is forwarded, or counted lost by a PMD. */
    struct sw_dpif_pmd_stats s;
    uint64_t deadline = kk_now_us() + 20 * 1000000;
    for (;;) {
        pmd_totals(dp, &s);
        uint64_t rx = __atomic_load_n(&c.received, __ATOMIC_ACQUIRE);
        if (s.packets == c.sent && rx + s.lost + s.upcall_fails == c.sent)
            break;
        if (kk_now_us() > deadline)
            fail_msg("sent %u, processed %llu, forwarded %llu, lost %llu, failed %llu", c.sent,
                     (unsigned long long)s.packets, (unsigned long long)rx,
                     (unsigned long long)s.lost, (unsigned long long)s.upcall_fails);
        nap(2000);
    }
    assert_true(c.sent >= c.to_send);
    assert_true(c.received > 0);
    assert_int_equal(s.n_rxq, 3);
    /* Both PMDs did work. */
    struct sw_dpif_pmd_stats p0, p1;
    sw_dpif_pmd_stats(dp, 0, &p0);
    sw_dpif_pmd_stats(dp, 1, &p1);
    assert_true(p0.packets > 0 && p1.packets > 0);
    assert_int_equal(p0.cpu, -1);

    __atomic_store_n(&c.stop, true, __ATOMIC_RELEASE);
    kk_rcu_thread_offline();
    pthread_join(drn, NULL);
    kk_rcu_thread_online();
    sw_dpif_destroy(dp);
    for (int i = 0; i < 3; i++)
        tport_fini(&ports[i]);
    pkt_pool_flush_thread_cache(tpool);
    assert_int_equal(pkt_pool_avail(tpool), 16384);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_forward_megaflow_emc),
        cmocka_unit_test(test_megaflow_hits_without_emc),
        cmocka_unit_test(test_no_install_and_consumed),
        cmocka_unit_test(test_stats_push),
        cmocka_unit_test(test_meter),
        cmocka_unit_test(test_max_flows),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_revalidate),
        cmocka_unit_test(test_simple_match),
        cmocka_unit_test(test_simple_match_not_taken),
        cmocka_unit_test(test_headers_across_segments),
        cmocka_unit_test(test_simple_match_openflow),
        cmocka_unit_test(test_execute),
        cmocka_unit_test(test_rxq_assign_by_load),
        cmocka_unit_test(test_rxq_auto_lb),
        cmocka_unit_test(test_port_churn_two_pmds),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
