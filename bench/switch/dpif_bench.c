/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dpif_bench — the userspace datapath forwarding 64-byte UDP frames
 * between two in-process ring ports, one PMD thread, in a closed loop: the
 * main thread moves what comes out of port b back into port a, so no
 * buffer is allocated while measuring. Reports the PMD's packets per
 * second and busy cycles per packet (EMC hits: one megaflow, @flows
 * microflows; with @exact, one exact megaflow per microflow, as rules that
 * look at every flow's addresses and ports make). The one megaflow of the
 * default mode is simple (in_port, dl_type, nw_proto, nw_frag), so the
 * port's simple match decides; @no_simple turns that path off (the EMC
 * decides).
 *
 *   dpif_bench [seconds [flows [busy_poll [exact [no_simple]]]]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dpif.h"
#include "kk_reactor.h"
#include "pkt.h"
#include "port.h"

static uint32_t out_port;
static bool exact;

static enum sw_upcall_result upcall(void *arg, struct sw_upcall *up)
{
    (void)arg;
    if (exact)
        memset(&up->wc, 0xff, sizeof(up->wc));
    sw_odp_put_output(&up->actions, out_port);
    return SW_UPCALL_INSTALL;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 3;
    unsigned flows = argc > 2 ? (unsigned)atoi(argv[2]) : 1;
    bool busy = argc > 3 && atoi(argv[3]);
    exact = argc > 4 && atoi(argv[4]);
    bool no_simple = argc > 5 && atoi(argv[5]);
    if (flows == 0)
        flows = 1;
    /* Frames in the loop: enough for every microflow to appear. */
    unsigned n_frames = flows > 2048 ? 16384 : 2048;
    struct pkt_pool *pool;
    if (pkt_pool_create("bench", 32768, 0, 0, &pool))
        return 1;
    struct sw_dpif_opts o = {.n_pmds = 1, .upcall = upcall, .busy_poll = busy,
                             .emc_insert_inv_prob = 1, .no_simple_match = no_simple};
    struct sw_dpif *dp;
    if (sw_dpif_create(&o, &dp))
        return 1;
    char err[128];
    uint32_t a = SW_DPIF_PORT_NONE, b = SW_DPIF_PORT_NONE;
    struct pkt_port *inj, *sink;
    if (sw_dpif_port_add(dp, "a", "ring:name=ba,peer=bb,size=16384", &a, err, sizeof(err)) ||
        sw_dpif_port_add(dp, "b", "ring:name=bc,peer=bd,size=16384", &b, err, sizeof(err)) ||
        pkt_port_open("ring:name=bx,peer=ba,size=16384", 900, pool, &inj, err, sizeof(err)) ||
        pkt_port_open("ring:name=bb,size=16384", 901, pool, &sink, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    out_port = a; /* forward a -> a: out of a lands in ring bb, which we read */
    uint8_t frame[60] = {0};
    memcpy(frame, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
    uint8_t ip[20] = {0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
    memcpy(frame + 14, ip, 20);
    frame[34 + 5] = 26; /* UDP length */
    for (unsigned i = 0; i < n_frames; i++) {
        struct pkt_buf *p = pkt_from_bytes(pool, frame, sizeof(frame));
        unsigned f = i % flows;
        uint16_t sport = (uint16_t)(1024 + f % 50000);
        pkt_data(p)[34] = (uint8_t)(sport >> 8);
        pkt_data(p)[35] = (uint8_t)sport;
        pkt_data(p)[28] = (uint8_t)(f >> 16); /* IPv4 source 10.x.y.z */
        pkt_data(p)[29] = (uint8_t)(f >> 8);
        while (pkt_port_tx_burst(inj, 0, &p, 1) != 1)
            ;
    }
    uint64_t t0 = kk_now_us(), end = t0 + (uint64_t)(seconds * 1e6);
    sw_dpif_pmd_stats_clear(dp);
    while (kk_now_us() < end) {
        struct pkt_buf *pkts[32];
        for (int k = 0; k < 64; k++) {
            unsigned n = pkt_port_rx_burst(sink, 0, pkts, 32);
            unsigned s = n ? pkt_port_tx_burst(inj, 0, pkts, (uint16_t)n) : 0;
            pkt_free_bulk(pkts + s, n - s);
        }
    }
    struct sw_dpif_pmd_stats st;
    sw_dpif_pmd_stats(dp, 0, &st);
    double el = (double)(kk_now_us() - t0) / 1e6;
    printf("{\"flows\": %u, \"mpps\": %.2f, \"busy_cycles_per_packet\": %.0f, "
           "\"simple_hits\": %llu, \"emc_hits\": %llu, \"mfc_hits\": %llu, \"upcalls\": %llu, \"lost\": %llu}\n",
           flows, (double)st.packets / el / 1e6,
           st.packets ? (double)st.busy_cycles / (double)st.packets : 0.0,
           (unsigned long long)st.simple_hits, (unsigned long long)st.emc_hits,
           (unsigned long long)st.mfc_hits,
           (unsigned long long)st.upcalls, (unsigned long long)st.lost);
    sw_dpif_destroy(dp);
    pkt_port_close(inj);
    pkt_port_close(sink);
    pkt_pool_flush_thread_cache(pool);
    return 0;
}
